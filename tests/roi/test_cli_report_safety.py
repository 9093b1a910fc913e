"""``roi report --html`` and ``roi export --prometheus`` write a regular file or a new path, nothing else.

Every special target is made inside tmp_path (a FIFO, a device node, links to /dev/null and
/dev/stdout), so even a regressed writer can only replace a link in tmp_path, never a real device.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import Result

from newsroom.errors import ConfigError
from tests.roi.test_report import build_ledger, invoke

COMMANDS = [("report", "--html", "roi.html"), ("export", "--prometheus", "roi.prom")]


def exit_code(result: Result) -> int:
    """What ``newsroom`` would exit with (the in-process group does not map our errors)."""
    if isinstance(result.exception, ConfigError):
        return result.exception.exit_code
    return result.exit_code


def make_target(kind: str, target: Path, victim: Path) -> None:
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null, in tmp_path
    elif kind == "dir":
        target.mkdir()
    else:
        pointee = {"link-to-dev-null": Path("/dev/null"), "link-to-dev-stdout": Path("/dev/stdout"),
                   "link-to-file": victim, "link-to-dir": victim.parent}[kind]
        target.symlink_to(pointee)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("command", "option", "name"), COMMANDS)
@pytest.mark.parametrize("kind", ["fifo", "device", "dir", "link-to-dev-null", "link-to-dev-stdout",
                                  "link-to-file", "link-to-dir"])
def test_a_target_that_is_not_a_regular_file_exits_2_and_is_left_alone(
        workspace: Path, ledger_path: Path, command: str, option: str, name: str, kind: str) -> None:
    build_ledger(ledger_path)
    victim = workspace / "elsewhere" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("precious")
    target = workspace / name
    make_target(kind, target, victim)
    before = os.lstat(target)

    result = invoke(workspace, command, option, str(target))

    assert exit_code(result) == 2, result.output
    message = str(result.exception) if isinstance(result.exception, ConfigError) else result.output
    assert repr(str(target)) in message or f"'{target}'" in message, message
    after = os.lstat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert victim.read_text() == "precious"
    assert [p.name for p in workspace.iterdir() if p.name.startswith(f".{name}") or ".tmp" in p.name] == []


@pytest.mark.parametrize(("command", "option", "name"), COMMANDS)
def test_the_message_says_what_the_target_is_and_what_to_do(workspace: Path, command: str, option: str,
                                                            name: str) -> None:
    (workspace / name).symlink_to("/dev/stdout")
    result = invoke(workspace, command, option, name)
    assert str(result.exception) == (f"refusing to write {name!r}: it is a symbolic link to '/dev/stdout'; "
                                     f"give {option} a writable path: a regular file or a new one")


@pytest.mark.parametrize(("command", "option", "name"), COMMANDS)
def test_temp_files_at_predictable_names_are_never_followed(workspace: Path, ledger_path: Path, command: str,
                                                           option: str, name: str) -> None:
    """Links planted where the old writers put their temp files (``.<name>.<pid>.tmp``, ``<name>.<pid>.<tid>``)."""
    build_ledger(ledger_path)
    victim = workspace / "victim.txt"
    victim.write_text("precious")
    planted = [workspace / f".{name}.{os.getpid()}.tmp",
               workspace / f"{name}.{os.getpid()}.{threading.current_thread().ident}"]
    for link in planted:
        link.symlink_to(victim)
    result = invoke(workspace, command, option, name)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert all(link.is_symlink() and link.resolve() == victim for link in planted)
    assert (workspace / name).is_file() and not (workspace / name).is_symlink()


@pytest.mark.parametrize(("command", "option", "name"), COMMANDS)
def test_the_written_file_is_private(workspace: Path, ledger_path: Path, command: str, option: str,
                                     name: str) -> None:
    build_ledger(ledger_path)
    (workspace / name).write_text("old")
    (workspace / name).chmod(0o644)
    for _ in range(2):  # a new file and a replaced one
        assert invoke(workspace, command, option, name).exit_code == 0
        assert stat.S_IMODE((workspace / name).stat().st_mode) == 0o600
        (workspace / name).unlink()
