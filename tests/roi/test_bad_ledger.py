"""Every ``roi`` command over a hostile ledger, through the real entry point (exit codes as a user sees them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.roi.test_ledger import BAD_LINES
from tests.roi.test_report import build_ledger
from tests.test_cli import run

COMMANDS = {
    "summary": ["roi", "summary", "--json"],
    "calls": ["roi", "calls", "--json"],
    "report": ["roi", "report", "--html", "out/roi.html", "--json"],
    "export": ["roi", "export", "--prometheus", "out/roi.prom", "--json"],
}


def _numbers(command: str, out: str) -> Any:
    """What each command reports, to compare a clean ledger with a poisoned one."""
    data = json.loads(out)
    if command == "summary":
        return data["total"]
    if command == "calls":
        return [(c["execution_id"], c["stage"], c["attempt"], c["input_tokens"]) for c in data]
    return {k: v for k, v in data.items() if k not in ("skipped_lines", "ledger", "html", "prometheus")}


def _clean_then_poisoned(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                         poison: Any) -> tuple[str, str, str]:
    """The command's output on a clean workspace, and on one whose ledger ``poison`` damaged."""
    outputs = []
    build_ledger(tmp_path / "clean" / "logs" / "execution_roi.jsonl")
    for name in ("clean", "poisoned"):
        ws = tmp_path / name
        if name == "poisoned":  # the same records, then damaged
            (ws / "logs").mkdir(parents=True)
            (ws / "logs" / "execution_roi.jsonl").write_bytes(
                (tmp_path / "clean" / "logs" / "execution_roi.jsonl").read_bytes())
            poison(ws)
        code, out, err = run(capsys, "--workspace", str(ws), *COMMANDS[command])
        assert code == 0, err
        outputs.append((out, err))
    (clean, clean_err), (out, err) = outputs
    assert clean_err == ""
    return clean, out, err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wrongly_typed_lines_of_an_older_jsonl_ledger_are_skipped_on_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def poison(ws: Path) -> None:
        path = ws / "logs" / "execution_roi.jsonl"
        good = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join([good[0], *(line + b"\n" for line in BAD_LINES.values()), *good[1:]]))

    clean, out, err = _clean_then_poisoned(tmp_path, capsys, command, poison)
    assert f"warning: skipped {len(BAD_LINES)} unreadable ledger line(s): [2, 3, 4, 5, 6]" in err
    assert _numbers(command, out) == _numbers(command, clean)
    if command in ("report", "export"):
        assert json.loads(out)["skipped_lines"] == len(BAD_LINES)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wrongly_typed_rows_in_the_ledger_table_are_skipped_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from newsroom.config import Settings
    from newsroom.roi.db_ledger import open_ledger
    from newsroom.store import ledger as table

    monkeypatch.chdir(tmp_path)

    def poison(ws: Path) -> None:
        settings = Settings.load(workspace=ws)
        open_ledger(settings).close()  # imports the clean JSONL ledger
        with sa.create_engine(settings.db_url).begin() as conn:
            for line in BAD_LINES.values():
                conn.execute(table.insert().values(type="llm_call", execution_id="x", ts="t",
                                                   record=line.decode("utf-8", "replace")))

    clean, out, err = _clean_then_poisoned(tmp_path, capsys, command, poison)
    assert f"warning: skipped {len(BAD_LINES)} unreadable ledger line(s)" in err
    assert _numbers(command, out) == _numbers(command, clean)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink"])
def test_a_ledger_that_is_not_a_regular_file_exits_2(workspace: Path, ledger_path: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], command: str,
                                                     kind: str) -> None:
    ledger_path.parent.mkdir(parents=True)
    if kind == "directory":
        ledger_path.mkdir()
    elif kind == "fifo":
        os.mkfifo(ledger_path)
    else:
        build_ledger(tmp_path / "real.jsonl")
        ledger_path.symlink_to(tmp_path / "real.jsonl")

    code, out, err = run(capsys, *COMMANDS[command])

    assert code == 2 and out == ""
    what = {"directory": "a directory", "fifo": "a FIFO (named pipe)", "symlink": "a symbolic link"}[kind]
    assert err.startswith(f"newsroom: error: the ROI ledger {str(ledger_path)!r} is {what}"), err
    assert "move it aside or choose another --workspace" in err
    assert not (workspace / "out").exists()
