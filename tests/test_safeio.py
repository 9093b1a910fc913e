"""newsroom.safeio: the one reader of user files and the one atomic writer.

Devices are never written here, even if the code regresses: the writer is tried on FIFOs, device
nodes and links made in tmp_path; the real /dev paths are given only to ``check_target``, which
writes nothing.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from newsroom import safeio
from newsroom.errors import ConfigError
from newsroom.safeio import check_target, read_text_file, write_atomic


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# -- reading ---------------------------------------------------------------------------------------
@pytest.mark.timeout(10)
def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not opened at all: opening a device can have effects (a tape rewinds, a watchdog arms)."""
    fifo = _fifo(tmp_path / "notes.md")  # opening it for reading would block until a writer came
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *args, **kw: opened.append(str(path)) or real_open(path, *args, **kw))
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"'.*notes\.md' is a FIFO \(named pipe\), not a regular file; give"):
        read_text_file(fifo, limit=1000)
    assert time.monotonic() - started < 2
    assert opened == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused_without_reading_it(device: str) -> None:
    with pytest.raises(ConfigError, match=r"is a character device, not a regular file"):
        read_text_file(device, limit=1000)


@pytest.mark.timeout(10)
def test_a_sparse_gigabyte_is_refused_by_its_size_without_reading_it(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.md"
    with sparse.open("wb") as fh:
        fh.truncate(1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=r"'.*huge\.md' is 1\.1 GB; the limit is 200 KB: is it the right file"):
            read_text_file(sparse, limit=200_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_reads_at_most_the_limit_plus_one_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that grew after its size was checked (a log being written) is still cut off at the limit."""
    path = tmp_path / "growing.txt"
    with path.open("wb") as fh:
        fh.truncate(64 << 20)
    real_fstat = os.fstat

    def stale_size(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((*st[:6], 10, *st[7:10]))  # st_size still says 10 bytes

    monkeypatch.setattr(os, "fstat", stale_size)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="over the 1 KB limit"):
            read_text_file(path, limit=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_directory_and_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"source '.*' is a directory; give a UTF-8 text file"):
        read_text_file(tmp_path, limit=10, what="source")
    with pytest.raises(ConfigError, match=r"source '.*nope\.md' does not exist; check the path"):
        read_text_file(tmp_path / "nope.md", limit=10, what="source")


def test_symlinks_are_followed_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_text("hello")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert read_text_file(link, limit=100) == "hello"
    with pytest.raises(ConfigError, match=r"is a symbolic link to '.*real\.md', which is not followed"):
        read_text_file(link, limit=100, follow_symlinks=False)


@pytest.mark.parametrize(("data", "expected"), [
    (b"x" * 101, r"is 101 bytes; the limit is 100 bytes"),
    (b"ab\x00cd", r"is a binary file \(it contains NUL bytes\); give a UTF-8 text file"),
    (b"caf\xe9", r"is not UTF-8 text \(undecodable byte at offset 3\); save it as UTF-8"),
])
def test_bad_content(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=expected):
        read_text_file(path, limit=100)


def test_text_with_a_bom_and_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "café".encode() + b"x" * 92)
    assert read_text_file(path, limit=100) == "café" + "x" * 92


# -- the output target -----------------------------------------------------------------------------
@pytest.mark.parametrize(("device", "what"), [
    ("/dev/null", "a character device, not a regular file"),
    ("/dev/zero", "a character device, not a regular file"),
    ("/dev/stdout", "a symbolic link to '/proc/self/fd/1'"),
])
def test_devices_are_refused_as_targets(device: str, what: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_target(device, option="--html")
    assert str(caught.value) == (f"refusing to write {device!r}: it is {what}; "
                                 "give --html a writable path: a regular file or a new one")


def test_a_regular_file_or_a_new_path_is_a_fine_target(tmp_path: Path) -> None:
    (tmp_path / "old.html").write_text("old")
    check_target(tmp_path / "old.html")
    check_target(tmp_path / "new.html")


# -- writing ---------------------------------------------------------------------------------------
def test_files_are_created_0600_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "a.md"
    write_atomic(path, "first")
    assert path.read_text() == "first" and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    write_atomic(path, "second ✓")
    assert path.read_text(encoding="utf-8") == "second ✓" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _temp_files(path.parent) == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("make", ["fifo", "dir", "link-to-file", "link-to-fifo", "link-to-dev-null", "dangling"])
def test_a_target_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path: Path, make: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.md"
    if make == "fifo":
        _fifo(target)
    elif make == "dir":
        target.mkdir()
    elif make == "dangling":
        target.symlink_to(tmp_path / "nowhere")
    else:
        pointee = {"link-to-file": victim, "link-to-fifo": _fifo(tmp_path / "pipe"),
                   "link-to-dev-null": Path("/dev/null")}[make]
        target.symlink_to(pointee)
    before = os.lstat(target)
    with pytest.raises(ConfigError, match=r"refusing to write '.*out\.md': it is a"):
        write_atomic(target, "payload")
    after = os.lstat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert victim.read_text() == "precious"
    assert _temp_files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_is_refused_and_left_alone(tmp_path: Path) -> None:
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a second /dev/null, in tmp_path
    with pytest.raises(ConfigError, match=r"it is a character device, not a regular file"):
        write_atomic(node, "payload")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_the_temp_name_is_unpredictable_and_never_followed(tmp_path: Path) -> None:
    """Links planted at every name the old writers used (``.<name>.<pid>.tmp``, ``<name>.<pid>.<tid>``)."""
    import threading

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "report.html"
    planted = [tmp_path / f".{target.name}.{os.getpid()}.tmp",
               tmp_path / f"{target.name}.{os.getpid()}.{threading.current_thread().ident}"]
    for link in planted:
        link.symlink_to(victim)
    write_atomic(target, "page")
    assert victim.read_text() == "precious"
    assert target.read_text() == "page" and not target.is_symlink()
    assert all(link.is_symlink() for link in planted)


# -- a disk that fills up mid-write ------------------------------------------------------------------
def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out" / "article.md"
    path.parent.mkdir()
    path.write_text("the old article")
    written: list[bytes] = []

    def disk_fills_after_4k(fd: int, data: bytes) -> None:
        written.append(bytes(data[:4096]))
        os.write(fd, data[:4096])  # the first 4 KB reach the temp file, then the disk is full
        assert os.fstat(fd).st_size == 4096
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safeio, "_write_all", disk_fills_after_4k)
    with pytest.raises(OSError, match="No space left on device"):
        write_atomic(path, "new " * 10_000)
    assert written and len(written[0]) == 4096  # the fault really was mid-write
    assert path.read_text() == "the old article"
    assert sorted(p.name for p in path.parent.iterdir()) == ["article.md"]


CHILD = """
import resource, signal, sys
from newsroom.safeio import write_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write(2) fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
try:
    write_atomic(sys.argv[1], "x" * 100_000)
except OSError as exc:
    print(exc.errno, exc.strerror)
"""


@pytest.mark.timeout(60)
def test_a_real_file_size_limit_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """The kernel, not a fake, stops the write after 8 KB (RLIMIT_FSIZE in a child process)."""
    for existing in (False, True):
        out = tmp_path / f"existing-{existing}"
        out.mkdir()
        target = out / "metrics.prom"
        if existing:
            target.write_text("old")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run([sys.executable, "-c", CHILD, str(target)], capture_output=True, text=True,
                              env=env, timeout=50)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == str(errno.EFBIG), done.stdout
        assert sorted(p.name for p in out.iterdir()) == (["metrics.prom"] if existing else [])
        if existing:
            assert target.read_text() == "old"
