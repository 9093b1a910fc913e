"""The append-only ROI ledger: JSON Lines, one record per LLM call attempt and one per run.

Durability rules, because a killed process must never leave an unreadable ledger:
each record is a single ``write(2)`` of one complete line on an ``O_APPEND`` descriptor under an
exclusive ``flock`` (so several processes may append at once); if the file does not end in a
newline (a writer died mid-line) the next writer first closes that line, so the torn fragment
stays a separate, skippable line and never corrupts the record after it. Readers skip lines
that are not complete JSON objects and count them.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError


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
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"cannot open the ROI ledger {str(self.path)!r}: {exc.strerror}; "
                                  "check the workspace is writable (--workspace)") from None
        return self._fd

    def append(self, record: dict[str, Any]) -> None:
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
        """Every complete record; torn or corrupt lines are skipped and their numbers reported."""
        report = ReadReport()
        if not self.path.exists():
            return report
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                record = _parse(raw)
                if record is None:
                    if raw.strip():
                        report.skipped_lines.append(number)
                    continue
                report.records.append(record)
        return report

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.read().records)


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.endswith(b"\n"):
        return None  # the last line of a writer that died mid-write
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) and "type" in value else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
