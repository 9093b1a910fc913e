"""The embedded run database: created in the workspace, readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import sqlalchemy as sa

from newsroom.store import default_url, engine


def test_the_embedded_database_and_its_journal_are_the_owners_only(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    with engine(url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
    files = sorted((tmp_path / ".newsroom").glob("newsroom.sqlite*"))
    assert files and files[0].name == "newsroom.sqlite"
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
