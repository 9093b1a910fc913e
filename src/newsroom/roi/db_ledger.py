"""The ROI ledger in the database: the record of every call and run, whichever machine made it.

A row per record (``store.ledger``), unique on the call key and attempt, so a call recorded twice
(its step re-run after a crash) is kept once. A successful call's row also holds its response, so
a re-executed step replays the call instead of paying for it again (``llm/replay.py``).

On the embedded default the same records are also appended to ``logs/execution_roi.jsonl``: the
file a user can ``tail -f``, as before. With Postgres the file is not written (it would hold one
machine's share); ``roi export --jsonl`` writes the whole ledger from the database anywhere.
A workspace whose JSONL ledger predates the database has it imported once, on first use.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from newsroom.roi.ledger import ReadReport, RoiLedger, parse_record
from newsroom.roi.validate import record_check
from newsroom.store import engine, ledger, redact_url

_imported: set[str] = set()
_import_lock = threading.Lock()


class DbLedger:
    """Appends records to, and reads them from, the database's ledger table (and its JSONL mirror)."""

    def __init__(self, url: str, *, enabled: bool = True, mirror: Path | None = None) -> None:
        self.url = url
        self.enabled = enabled
        self.path = mirror  # the JSONL file a user can tail (embedded default only)
        self._engine = engine(url)
        self._mirror = RoiLedger(mirror, enabled=enabled) if mirror is not None else None
        # Lines of an older JSONL ledger that could not be imported (reported once, by the first read).
        self.import_skipped = _import_once(self._engine, url, mirror) if mirror is not None else []

    def append(self, record: dict[str, Any], response: dict[str, Any] | None = None) -> None:
        """Record ``record`` (and a call's ``response``, for replay). A second record of the same call
        key and attempt is dropped: the call was already recorded."""
        if not self.enabled:
            return
        row = {"type": str(record.get("type")), "execution_id": str(record.get("execution_id")),
               "ts": str(record.get("ts")), "call_key": record.get("call_key"), "attempt": record.get("attempt"),
               "record": json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str),
               "response": json.dumps(response, ensure_ascii=False) if response is not None else None}
        try:
            with self._engine.begin() as conn:
                conn.execute(ledger.insert().values(**row))
        except sa.exc.IntegrityError:
            return  # recorded already, by the step's first run
        if self._mirror is not None:
            self._mirror.append(record)

    def response(self, call_key: str) -> dict[str, Any] | None:
        """The recorded response of a successful call, or None."""
        with self._engine.connect() as conn:
            found = conn.execute(sa.select(ledger.c.response).where(
                ledger.c.call_key == call_key, ledger.c.response.is_not(None)).limit(1)).scalar()
        return json.loads(found) if found else None

    def read(self, execution_id: str | None = None) -> ReadReport:
        """Every valid record in order (of one execution, if given); invalid rows are skipped and counted."""
        report = ReadReport(skipped_lines=list(self.import_skipped))
        valid = record_check()
        query = sa.select(ledger.c.id, ledger.c.record).order_by(ledger.c.id)
        if execution_id is not None:
            query = query.where(ledger.c.execution_id == execution_id)
        with self._engine.connect() as conn:
            for row_id, raw in conn.execute(query):
                record = parse_record(raw)
                if record is not None and valid(record):
                    report.records.append(record)
                else:
                    report.skipped_lines.append(int(row_id))
        return report

    def close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()

    def describe(self) -> str:
        where = redact_url(self.url)
        return f"{where} (and {self.path})" if self.path is not None else where


def open_ledger(settings: Any, *, enabled: bool = True) -> DbLedger:
    """The ledger ``settings`` point at: the database, mirrored to the JSONL file when embedded."""
    return DbLedger(settings.db_url, enabled=enabled, mirror=settings.ledger_path if settings.embedded else None)


def _import_once(engine: sa.Engine, url: str, path: Path) -> list[int]:
    """Bring an older workspace's JSONL ledger into an empty ledger table, once: nothing is lost.
    Returns the numbers of the lines that were not valid records (skipped, as ``read`` skips them)."""
    with _import_lock:
        if url in _imported:
            return []
        _imported.add(url)
        with engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(ledger)).scalar():
                return []
        report = RoiLedger(path).read()
        if not report.records:
            return report.skipped_lines
        rows = [{"type": str(r.get("type")), "execution_id": str(r.get("execution_id")), "ts": str(r.get("ts")),
                 "call_key": r.get("call_key"), "attempt": r.get("attempt"),
                 "record": json.dumps(r, separators=(",", ":"), ensure_ascii=False, default=str), "response": None}
                for r in report.records]
        with engine.begin() as conn:
            conn.execute(ledger.insert(), rows)
        return report.skipped_lines
