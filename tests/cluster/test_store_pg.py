"""The store on Postgres: processes that start together on a new database all get its tables.

Three workers started at once on a fresh database used to race to create newsroom's tables; the
losers died with ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``.
"""

from __future__ import annotations

import subprocess
import sys

from tests.fakes.process import REPO

OPEN = "import sys; from newsroom.store import engine; engine(sys.argv[1])"


def test_processes_starting_together_on_a_new_database_all_open_it(pg_url: str) -> None:
    for round_ in range(3):
        url = f"{pg_url}_{round_}"
        _create_database(pg_url, url)
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, url], env={"PYTHONPATH": f"{REPO / 'src'}"},
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        failures = [p.communicate(timeout=120)[1] for p in procs if p.wait(timeout=120) != 0]
        assert not failures, failures[0][-1500:]


def _create_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"'))
    admin.dispose()
