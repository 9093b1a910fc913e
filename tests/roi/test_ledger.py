from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsroom.errors import ConfigError
from newsroom.roi.ledger import RoiLedger


def rec(i: int, **extra: object) -> dict[str, object]:
    return {"type": "llm_call", "seq": i, **extra}


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
        fh.write(b'{"type":"llm_call","seq":2,"stage":"dra')

    torn = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in torn.records] == [0, 1]
    assert torn.skipped_lines == [3]

    RoiLedger(ledger_path).append(rec(3))  # a new process
    writer.append(rec(4))  # and the long-lived writer with its descriptor already open

    after = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in after.records] == [0, 1, 3, 4]
    assert after.skipped_lines == [3]
    lines = ledger_path.read_bytes().split(b"\n")
    assert lines[2] == b'{"type":"llm_call","seq":2,"stage":"dra'
    assert json.loads(lines[3])["seq"] == 3


def test_corrupt_and_foreign_lines_are_skipped_and_counted(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(
        b'{"type":"run","seq":0}\n'
        b"not json\n"
        b"\n"
        b"[1, 2]\n"
        b'{"no_type": true}\n'
        b"\xff\xfe\n"
        b'{"type":"llm_call","seq":1}\n'
    )
    report = RoiLedger(ledger_path).read()
    assert [r["seq"] for r in report.records] == [0, 1]
    assert report.skipped_lines == [2, 4, 5, 6]  # the blank line is not an error


# -- crash safety and concurrency, with real processes ----------------------------------------
WRITER = """
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
    ledger.append({"type": "llm_call", "writer": tag, "seq": i, "n": n, "pad": tag[0] * n})
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

    RoiLedger(ledger_path).append({"type": "run", "writer": "after", "seq": 0})

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
    assert report.records[-1] == {"type": "run", "writer": "after", "seq": 0}


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
