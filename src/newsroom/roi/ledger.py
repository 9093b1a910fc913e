"""The append-only ROI ledger: JSON Lines, one record per LLM call attempt and one per run.

Durability rules, because a killed process must never leave an unreadable ledger:
each record is a single ``write(2)`` of one complete line on an ``O_APPEND`` descriptor under an
exclusive ``flock`` (so several processes may append at once); if the file does not end in a
newline (a writer died mid-line) the next writer first closes that line, so the torn fragment
stays a separate, skippable line and never corrupts the record after it.

Readers skip, and count, every line that is not a record: torn or corrupt lines, lines over
1 MB, and JSON that does not fit ``record.schema.json`` (``"input_tokens": "abc"``, a negative
count, a list), or that holds NaN, an infinity or a number beyond 10^15. The sums of ``roi``
commands are therefore made of well-typed records only.

The ledger must be a regular file: a symlink at ``logs/execution_roi.jsonl`` is refused, never
followed (``O_NOFOLLOW``; to keep the ledger elsewhere, link the ``logs`` directory instead), and
so is a directory, FIFO or device. It is created with mode 0600.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError
from newsroom.roi.validate import record_check
from newsroom.safeio import open_regular

MAX_LINE = 1_000_000  # a record is a few hundred bytes; a longer line is not one
MAX_NUMBER = 10**15
_WHAT = "the ROI ledger"
_HINT = "move it aside or choose another --workspace (to keep the ledger elsewhere, link logs/, not the file)"


@dataclass
class ReadReport:
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)


class RoiLedger:
    """Appends records to, and reads them from, ``logs/execution_roi.jsonl``.

    ``enabled=False`` (flag ``roi_telemetry`` off) makes ``append`` a no-op; metering still runs.
    """

    def __init__(self, path: Path | str, *, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._fd: int | None = None
        self._lock = threading.Lock()

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot open the ROI ledger {str(self.path)!r}: {exc.strerror}; "
                                  "check the workspace is writable (--workspace)") from None
            self._fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, what=_WHAT, hint=_HINT,
                                    follow_symlinks=False, mode=0o600)
        return self._fd

    def append(self, record: dict[str, Any], response: dict[str, Any] | None = None) -> None:
        """Append one record (a response is the database ledger's to keep; the file holds records only)."""
        if not self.enabled:
            return
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n")
        data = line.encode("utf-8")
        with self._lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                _write_all(fd, data)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def read(self) -> ReadReport:
        """Every valid record; torn, corrupt or invalid lines are skipped and their numbers reported.

        A ledger that is a symlink, directory, FIFO or device is a ``ConfigError`` (it never blocks).
        """
        report = ReadReport()
        if not os.path.lexists(self.path):
            return report
        valid = record_check()
        fd = open_regular(self.path, what=_WHAT, hint=_HINT, follow_symlinks=False)
        with os.fdopen(fd, "rb") as fh:
            for number, raw in enumerate(_lines(fh), start=1):
                record = _parse(raw)
                if record is None or not valid(record):
                    if raw.strip():
                        report.skipped_lines.append(number)
                    continue
                report.records.append(record)
        return report

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.read().records)


def _lines(fh: Any) -> Iterator[bytes]:
    """The file's lines; one longer than ``MAX_LINE`` comes back as its first bytes without the newline."""
    while raw := fh.readline(MAX_LINE):
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            while (rest := fh.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass  # skip the rest of an oversized line without holding it in memory
            raw = raw[:80]
        yield raw


def _bad_number(text: str) -> Any:
    raise ValueError(f"{text} is not a ledger number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"{text} is not a ledger number")
    return value


def _int(text: str) -> int:
    if len(text) > 17:  # int() of a 5,000-digit string is slow, and no count is that large
        raise ValueError(f"{text[:20]}... is not a ledger number")
    value = int(text)
    if abs(value) > MAX_NUMBER:
        raise ValueError(f"{text} is not a ledger number")
    return value


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.endswith(b"\n"):
        return None  # the last line of a writer that died mid-write
    return parse_record(raw)


def parse_record(raw: bytes | str) -> dict[str, Any] | None:
    """One record's JSON, or None for anything that is not a JSON object of sane numbers (NaN, 1e400,
    a 5,000-digit integer, a nesting deep enough to blow the stack)."""
    try:
        value = json.loads(raw, parse_constant=_bad_number, parse_float=_float, parse_int=_int)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
