"""Reading user files and writing our own, safely. Standard library only, so any module may import it.

Reading (``read_text_file``, ``open_regular``): the path is stat-ed before it is opened, and
anything but a regular file (a directory, FIFO, device or socket) is refused with a ``ConfigError``
that names it, so ``/dev/zero`` or a FIFO can neither hang a command nor fill memory. Files are
opened ``O_NONBLOCK`` (a FIFO swapped in after the check still cannot block) and checked again
with ``fstat``; at most ``limit + 1`` bytes are ever read, so a sparse 1 GB file costs nothing.

Writing (``write_atomic``): the text goes to a temporary file with an unpredictable name, created
exclusively in the target's directory (``tempfile.mkstemp``: ``O_CREAT|O_EXCL|O_NOFOLLOW``, mode
0600), is flushed to disk, and is renamed over the target, so readers see the old file or the
new one, never half of one. A target that exists and is not a regular file (a symlink, a device
such as ``/dev/stdout``, a FIFO, a directory) is refused, never written through or replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from newsroom.errors import ConfigError

_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO (named pipe)"),
          (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "regular file" if stat.S_ISREG(mode) else "special file")


def _name(path: Path | str, what: str) -> str:
    return f"{what} {str(path)!r}" if what else repr(str(path))


def _human_size(n: int) -> str:
    """``1_234_567`` -> ``"1.2 MB"`` (decimal units, as ``ls -h --si`` prints)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def open_regular(path: Path | str, flags: int = os.O_RDONLY, *, what: str = "", hint: str = "give a regular file",
                 follow_symlinks: bool = True, mode: int = 0o600) -> int:
    """Open ``path`` and return the descriptor, or raise ``ConfigError`` unless it is a regular file.

    Never blocks (``O_NONBLOCK``); with ``follow_symlinks=False`` a symlink at ``path`` is refused
    (``O_NOFOLLOW``) rather than followed. ``mode`` applies when ``flags`` has ``O_CREAT``.
    """
    name = _name(path, what)
    extra = _NONBLOCK | _CLOEXEC | (0 if follow_symlinks else _NOFOLLOW)
    try:
        before = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise ConfigError(f"{name} does not exist; check the path") from None
        before = None
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc.strerror or exc}; {hint}") from None
    if before is not None and not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, name, before.st_mode, hint)
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as exc:  # a symlink under O_NOFOLLOW, or a file swapped since the check
        try:
            st_mode = (os.stat(path) if follow_symlinks else os.lstat(path)).st_mode
        except OSError:
            st_mode = stat.S_IFREG
        if not stat.S_ISREG(st_mode):
            raise _not_regular(path, name, st_mode, hint) from None
        raise ConfigError(f"cannot open {name}: {exc.strerror or exc}; {hint}") from None
    st_mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(st_mode):  # swapped between the check and the open
        os.close(fd)
        raise _not_regular(path, name, st_mode, hint)
    return fd


def _link_target(path: Path | str) -> str:
    try:
        return f" to {os.readlink(path)!r}"
    except OSError:
        return ""


def _not_regular(path: Path | str, name: str, st_mode: int, hint: str) -> ConfigError:
    if stat.S_ISLNK(st_mode):
        return ConfigError(f"{name} is a symbolic link{_link_target(path)}, which is not followed here; {hint}")
    if stat.S_ISDIR(st_mode):
        return ConfigError(f"{name} is a directory; {hint}")
    return ConfigError(f"{name} is a {_kind(st_mode)}, not a regular file; {hint}")


def read_text_file(path: Path | str, *, limit: int, what: str = "", hint: str = "give a UTF-8 text file",
                   follow_symlinks: bool = True) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (a leading BOM is dropped).

    Anything else is a ``ConfigError`` naming the path (``what`` says what the file is for, e.g.
    ``"source"``, and ``hint`` what to do instead): a missing path, a directory, FIFO, device or
    socket (refused before it is opened), a file over ``limit`` bytes (never read whole), a
    binary file (NUL bytes) or text that is not UTF-8.
    """
    name = _name(path, what)
    fd = open_regular(path, what=what, hint=hint, follow_symlinks=follow_symlinks)
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fd).st_size
        if size > limit:
            raise ConfigError(f"{name} is {_human_size(size)}; the limit is {_human_size(limit)}: "
                              "is it the right file?")
        try:
            data = fh.read(limit + 1)  # a file still growing cannot push us past the limit
        except OSError as exc:
            raise ConfigError(f"cannot read {name}: {exc.strerror or exc}; {hint}") from None
    if len(data) > limit:
        raise ConfigError(f"{name} is over the {_human_size(limit)} limit: is it the right file?")
    if b"\x00" in data:
        raise ConfigError(f"{name} is a binary file (it contains NUL bytes); {hint}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name} is not UTF-8 text (undecodable byte at offset {exc.start}); "
                          "save it as UTF-8") from None


def check_target(path: Path | str, *, option: str | None = None) -> None:
    """Refuse an output path that exists and is not a regular file (``ConfigError``, exit 2).

    A symlink is refused whatever it points at: replacing it would silently drop the link, and
    writing through it would write somewhere the user did not name. ``option`` (e.g. ``"--html"``)
    goes into the message.
    """
    try:
        st_mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot write {str(path)!r}: {exc.strerror or exc}; choose another path") from None
    if stat.S_ISREG(st_mode):
        return
    what = (f"a symbolic link{_link_target(path)}" if stat.S_ISLNK(st_mode) else
            "a directory" if stat.S_ISDIR(st_mode) else f"a {_kind(st_mode)}, not a regular file")
    raise ConfigError(f"refusing to write {str(path)!r}: it is {what}; give {option + ' ' if option else ''}"
                      "a writable path: a regular file or a new one")


def write_atomic(path: Path | str, text: str, *, option: str | None = None) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; the file is created with mode 0600.

    ``ConfigError`` when ``path`` exists and is not a regular file (see ``check_target``);
    ``OSError`` when the write itself fails (a full disk): then no temporary file is left and
    ``path`` is as it was.
    """
    path = Path(path)
    check_target(path, option=option)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:120]}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_dir(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _sync_dir(directory: Path) -> None:
    """Make the rename itself durable; some file systems cannot fsync a directory, which is fine."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
