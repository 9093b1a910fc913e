"""Many flows at once: every run has a result and complete, unmixed ledger records."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from newsroom.batch import read_topics, run_batch
from newsroom.errors import ConfigError
from newsroom.llm.ratelimit import RateLimiter
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow


def test_twenty_topics_at_concurrency_eight(flow_workspace: Path) -> None:
    topics = [f"battery recycling part {i}" for i in range(20)]
    seen_threads: set[str] = set()

    def factory(topic: str) -> ScriptedModel:
        base = script([CLEAN_SECTIONS])

        def reply(request):  # which worker thread of the queue made the call
            seen_threads.add(threading.current_thread().name)
            return base(request)

        return ScriptedModel(default=reply)

    results = run_batch(topics, settings=scripted_settings(flow_workspace), concurrency=8,
                        out_dir=flow_workspace / "out", model_factory=factory)
    assert [r.topic for r in results] == topics
    assert all(r.status == "published" for r in results), [r.reason for r in results]
    assert len(seen_threads) > 1, "the runs did not overlap"
    report = RoiLedger(flow_workspace / "logs" / "execution_roi.jsonl").read()
    assert not report.skipped_lines
    calls = Counter(r["execution_id"] for r in report.records if r["type"] == "llm_call")
    runs = Counter(r["execution_id"] for r in report.records if r["type"] == "run")
    assert set(calls) == set(runs) == {r.execution_id for r in results}
    assert all(n == 11 for n in calls.values()) and all(n == 1 for n in runs.values())
    for r in results:
        assert json.loads(Path(r.review_path).read_text())["topic"] == r.topic
    assert len({r.article_path for r in results}) == 20


def test_one_bad_run_does_not_stop_the_others(flow_workspace: Path) -> None:
    def factory(topic: str) -> ScriptedModel:
        return ScriptedModel(["not json at all"] * 2) if "bad" in topic else ScriptedModel(
            default=script([CLEAN_SECTIONS]))

    results = run_batch(["good one", "bad one", "good two"], settings=scripted_settings(flow_workspace),
                        concurrency=3, out_dir=flow_workspace / "out", model_factory=factory)
    assert [r.status for r in results] == ["published", "failed", "published"]
    assert "invalid CandidateDraft" in results[1].reason


def test_topics_file_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("# only a comment\n\n")
    (tmp_path / "ok.txt").write_text("# two topics\nfirst topic\n\n  second topic  \n")
    assert read_topics(tmp_path / "ok.txt") == ["first topic", "second topic"]
    with pytest.raises(ConfigError, match="holds no topics"):
        read_topics(tmp_path / "empty.txt")
    with pytest.raises(ConfigError, match="does not exist"):
        read_topics(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="UTF-8"):
        read_topics(tmp_path / "bin.txt")


def test_rate_limiter_applies_backpressure_by_requests_and_tokens(tmp_path: Path) -> None:
    now = [1000.0]
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    limiter = RateLimiter(url, "openai@default", rpm=2, tpm=1000, clock=lambda: now[0],
                          sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert limiter.acquire(100) == 0
    assert 1 < limiter.acquire(100) < 1.2  # rpm=2 allows one a second: the second waits out the first's second
    assert 59 < limiter.acquire(100) < 61  # the third waits for the first to leave the minute
    now[0] += 200.0
    assert limiter.acquire(900) == 0
    assert 59 < limiter.acquire(200) < 61  # 900 + 200 tokens would pass the 1,000 tpm
    # A second limiter on the same database (another process, another machine) sees the same window.
    twin = RateLimiter(url, "openai@default", rpm=2, tpm=1000, clock=lambda: now[0],
                       sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert twin.acquire(10) > 0
