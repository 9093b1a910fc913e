from __future__ import annotations

import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsroom.errors import ConfigError
from newsroom.roi.ledger import RoiLedger


def rec(i: int, **extra: object) -> dict[str, object]:
    """A valid run record (the schema lets run records carry extra fields) numbered ``seq``."""
    return {**RUN, "seq": i, **extra}


RUN: dict[str, object] = {
    "type": "run", "ts": "2026-01-02T03:04:05.678Z", "execution_id": "e1", "status": "published",
    "provider": "scripted", "model": "scripted", "duration_s": 1.5, "llm_calls": 0, "input_tokens": 0,
    "cached_input_tokens": 0, "output_tokens": 0, "cost_usd": None, "by_stage": {}}


def test_round_trip(ledger_path: Path) -> None:
    ledger = RoiLedger(ledger_path)
    records = [rec(i, stage="draft", cost_usd=None, note="café ✓") for i in range(3)]
    for r in records:
        ledger.append(r)
    report = RoiLedger(ledger_path).read()
    assert report.records == records
    assert report.skipped_lines == []
    assert list(ledger) == records


def test_one_line_per_record_even_with_newlines_in_values(ledger_path: Path) -> None:
    ledger = RoiLedger(ledger_path)
    ledger.append(rec(0, error="line one\nline two\r\n"))
    ledger.append(rec(1))
    raw = ledger_path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["error"] == "line one\nline two\r\n"


def test_creates_the_logs_directory(workspace: Path) -> None:
    path = workspace / "deep" / "logs" / "execution_roi.jsonl"
    RoiLedger(path).append(rec(0))
    assert path.is_file()


def test_missing_file_reads_empty(ledger_path: Path) -> None:
    report = RoiLedger(ledger_path).read()
    assert report.records == [] and report.skipped_lines == []


def test_disabled_ledger_writes_nothing(ledger_path: Path) -> None:
    ledger = RoiLedger(ledger_path, enabled=False)
    ledger.append(rec(0))
    assert not ledger_path.exists()
    assert not ledger_path.parent.exists()


def test_unwritable_location_is_a_config_error(workspace: Path) -> None:
    blocker = workspace / "logs"
    blocker.write_text("a file where the logs directory should be")
    with pytest.raises(ConfigError, match="ROI ledger"):
        RoiLedger(blocker / "execution_roi.jsonl").append(rec(0))


def test_torn_last_line_is_skipped_and_the_next_append_starts_a_fresh_line(ledger_path: Path) -> None:
    writer = RoiLedger(ledger_path)
    writer.append(rec(0))
    writer.append(rec(1))
    with ledger_path.open("ab") as fh:  # a writer that died mid-record
        fh.write(b'{"type":"run","seq":2,"stage":"dra')

    torn = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in torn.records] == [0, 1]
    assert torn.skipped_lines == [3]

    RoiLedger(ledger_path).append(rec(3))  # a new process
    writer.append(rec(4))  # and the long-lived writer with its descriptor already open

    after = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in after.records] == [0, 1, 3, 4]
    assert after.skipped_lines == [3]
    lines = ledger_path.read_bytes().split(b"\n")
    assert lines[2] == b'{"type":"run","seq":2,"stage":"dra'
    assert json.loads(lines[3])["seq"] == 3


def test_corrupt_and_foreign_lines_are_skipped_and_counted(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(
        json.dumps(rec(0)).encode() + b"\n"
        b"not json\n"
        b"\n"
        b"[1, 2]\n"
        b'{"no_type": true}\n'
        b"\xff\xfe\n" + json.dumps(rec(1)).encode() + b"\n"
    )
    report = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in report.records] == [0, 1]
    assert report.skipped_lines == [2, 4, 5, 6]  # the blank line is not an error


# -- crash safety and concurrency, with real processes ----------------------------------------
WRITER = "RUN = " + repr(RUN) + """
import sys, random
from newsroom.roi.ledger import RoiLedger
path, tag, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lo, hi = int(sys.argv[5]), int(sys.argv[6])
rng = random.Random(seed)
ledger = RoiLedger(path)
print("ready", flush=True)
sys.stdin.readline()  # wait for "go", so that several writers start at once
i = 0
while count < 0 or i < count:
    n = rng.randint(lo, hi)
    ledger.append({**RUN, "writer": tag, "seq": i, "n": n, "pad": tag[0] * n})
    i += 1
"""


def start_writer(path: Path, tag: str, count: int, seed: int, size: tuple[int, int]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(count), str(seed), str(size[0]), str(size[1])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def assert_intact(record: dict[str, object]) -> None:
    pad = record["pad"]
    assert isinstance(pad, str)
    assert len(pad) == record["n"]
    assert pad == str(record["writer"])[0] * len(pad)


def test_sigkilled_writers_never_leave_an_unreadable_ledger(ledger_path: Path) -> None:
    rng = random.Random(20240801)
    torn_tails: set[int] = set()  # line numbers that were a torn tail right after a kill
    for round_no in range(5):
        size = ledger_path.stat().st_size if ledger_path.exists() else 0
        proc = start_writer(ledger_path, f"k{round_no}", -1, round_no, (2_000, 20_000))
        go(proc)
        while not ledger_path.exists() or ledger_path.stat().st_size <= size:  # it is writing now
            assert proc.poll() is None, "the writer exited on its own"
            time.sleep(0.001)
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        proc.stdin.close()  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]
        raw = ledger_path.read_bytes()
        if not raw.endswith(b"\n"):
            torn_tails.add(raw.count(b"\n") + 1)

    RoiLedger(ledger_path).append({**RUN, "writer": "after", "seq": 0})

    lines = ledger_path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a complete line
    lines = lines[:-1]
    parsed = {}
    for number, line in enumerate(lines, start=1):
        try:
            parsed[number] = json.loads(line)
        except ValueError:
            assert number in torn_tails, f"line {number} is corrupt but was not the tail after a kill"
    report = RoiLedger(ledger_path).read()
    assert report.skipped_lines == sorted(set(range(1, len(lines) + 1)) - set(parsed))
    assert report.records == list(parsed.values())
    for round_no in range(5):
        seqs = [r["seq"] for r in report.records if r["writer"] == f"k{round_no}"]
        assert seqs
        assert seqs == list(range(len(seqs))), "a complete record went missing"
    for r in report.records[:-1]:
        assert_intact(r)
    assert report.records[-1] == {**RUN, "writer": "after", "seq": 0}


def test_concurrent_writers_append_whole_records(ledger_path: Path) -> None:
    procs = [start_writer(ledger_path, tag, 200, seed, (2_000, 8_000))
             for seed, tag in enumerate(["alpha", "bravo", "charlie", "delta"])]
    for proc in procs:
        go(proc)
    for proc in procs:
        proc.stdin.close()  # type: ignore[union-attr]
        assert proc.wait(timeout=120) == 0
        proc.stdout.close()  # type: ignore[union-attr]

    report = RoiLedger(ledger_path).read()
    assert report.skipped_lines == []
    assert len(report.records) == 800
    assert ledger_path.read_bytes().count(b"\n") == 800
    for tag in ("alpha", "bravo", "charlie", "delta"):
        assert [r["seq"] for r in report.records if r["writer"] == tag] == list(range(200))
    for r in report.records:
        assert_intact(r)


def test_ledger_file_mode_is_not_world_writable(ledger_path: Path) -> None:
    RoiLedger(ledger_path).append(rec(0))
    assert os.stat(ledger_path).st_mode & 0o002 == 0


# -- a ledger that is not a regular file, and its mode (issue 10, items 3 and 13) --------------------
def test_a_symlinked_ledger_is_refused_and_its_target_untouched(ledger_path: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    ledger_path.parent.mkdir(parents=True)
    ledger_path.symlink_to(victim)
    for attempt in (lambda: RoiLedger(ledger_path).append(rec(0)), lambda: RoiLedger(ledger_path).read()):
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert caught.value.exit_code == 2
        assert str(caught.value).startswith(f"the ROI ledger {str(ledger_path)!r} is a symbolic link to "
                                            f"{str(victim)!r}, which is not followed here; move it aside or "
                                            "choose another --workspace")
    assert victim.read_text() == "precious\n"
    assert ledger_path.is_symlink()


def test_a_symlinked_logs_directory_is_fine(workspace: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared-logs"
    elsewhere.mkdir()
    (workspace / "logs").symlink_to(elsewhere)
    RoiLedger(workspace / "logs" / "execution_roi.jsonl").append(rec(0))
    assert RoiLedger(elsewhere / "execution_roi.jsonl").read().records == [rec(0)]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["directory", "FIFO (named pipe)"])
def test_a_ledger_that_is_a_directory_or_fifo_is_a_clear_error(ledger_path: Path, kind: str) -> None:
    ledger_path.parent.mkdir(parents=True)
    if kind == "directory":
        ledger_path.mkdir()
    else:
        os.mkfifo(ledger_path)
    for attempt in (lambda: RoiLedger(ledger_path).read(), lambda: RoiLedger(ledger_path).append(rec(0))):
        with pytest.raises(ConfigError, match=rf"^the ROI ledger '.*execution_roi\.jsonl' is a {re.escape(kind)}"):
            attempt()


def test_the_ledger_is_created_private(ledger_path: Path) -> None:
    RoiLedger(ledger_path).append(rec(0))
    assert stat.S_IMODE(os.stat(ledger_path).st_mode) == 0o600


# -- valid JSON that is not a record (issue 10, item 10) ------------------------------------------------
CALL = {"type": "llm_call", "v": 1, "ts": "2026-01-02T03:04:05.678Z", "operation": "chat", "execution_id": "e1",
        "stage": "draft", "agent": "writer", "provider": "scripted", "model": "scripted",
        "response_model": "scripted", "input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10,
        "duration_ms": 12.5, "cost_usd": 0.001, "status": "ok", "attempt": 1}


def _with(**fields: object) -> bytes:
    return json.dumps({**CALL, **fields}).encode()


BAD_LINES = {
    "tokens as text": _with(input_tokens="abc"),
    "cost as text": _with(cost_usd="free"),
    "a list": b"[1, 2, 3]",
    "NaN": _with().replace(b'"duration_ms": 12.5', b'"duration_ms": NaN'),
    "Infinity": _with().replace(b'"cost_usd": 0.001', b'"cost_usd": -Infinity'),
    "1e400": _with().replace(b'"cost_usd": 0.001', b'"cost_usd": 1e400'),
    "a 400-digit count": _with().replace(b'"input_tokens": 100', b'"input_tokens": 1' + b"0" * 400),
    "a negative count": _with(output_tokens=-5),
    "a fractional count": _with(output_tokens=2.5),
    "a bool count": _with(output_tokens=True),
    "a missing field": json.dumps({k: v for k, v in CALL.items() if k != "cost_usd"}).encode(),
    "an unknown field": _with(cost="1"),
    "an unknown type": _with(type="llm_cal"),
    "a list as stage": _with(stage=["draft"]),
    "an error without its message": _with(status="error"),
    "a bad timestamp": _with(ts="yesterday"),
    "a run with text sums": json.dumps({**RUN, "llm_calls": "many"}).encode(),
    "a run with a bad stage total": json.dumps({**RUN, "by_stage": {"draft": {"llm_calls": 1}}}).encode(),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("bad", list(BAD_LINES), ids=list(BAD_LINES))
def test_a_record_of_the_wrong_shape_is_skipped_and_counted(ledger_path: Path, bad: str) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(json.dumps(CALL).encode() + b"\n" + BAD_LINES[bad] + b"\n" + json.dumps(rec(1)).encode()
                            + b"\n")
    report = RoiLedger(ledger_path).read()
    assert report.records == [CALL, rec(1)]
    assert report.skipped_lines == [2]


def test_an_oversized_line_is_skipped_without_holding_it(ledger_path: Path) -> None:
    import tracemalloc

    ledger_path.parent.mkdir(parents=True)
    with ledger_path.open("wb") as fh:
        fh.write(json.dumps(CALL).encode() + b"\n")
        fh.write(b'{"type":"run","pad":"' + b"x" * 20_000_000 + b'"}\n')
        fh.write(json.dumps(rec(1)).encode() + b"\n")
    tracemalloc.start()
    try:
        report = RoiLedger(ledger_path).read()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.records == [CALL, rec(1)] and report.skipped_lines == [2]
    assert peak < 5_000_000
