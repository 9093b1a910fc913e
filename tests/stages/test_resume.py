"""Durable runs: a generate process killed at any point continues with ``--resume`` and pays for no
call twice (issue 10 item 18, issue 12).

A child process runs a real ``generate_article`` (scripted model) and kills itself with ``os._exit``
at one of the moments that matter: with a model call in flight, right after a call's ledger row was
written, right after a step finished but before DBOS recorded it, and in the middle of writing the
article. The parent resumes the run in-process with a fresh scripted model and counts what it was
asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from newsroom.api import generate_article
from newsroom.errors import ConfigError
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.db_ledger import open_ledger

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import os, sys
from tests.stages.conftest import CLEAN_SECTIONS, script, scripted_settings
from newsroom.api import generate_article
from newsroom.llm.scripted import ScriptedModel
from newsroom import durable, safeio
from newsroom.roi import db_ledger

point, workspace = sys.argv[1], sys.argv[2]
base, writer_calls = script([CLEAN_SECTIONS]), []

def reply(request):
    if request.output_type is None:
        writer_calls.append(1)
        if point == "in-call" and len(writer_calls) == 2:
            os._exit(9)  # the second section's call is in flight: paid for, never answered
    return base(request)

if point == "after-ledger":
    append = db_ledger.DbLedger.append
    def append_then_die(self, record, response=None):
        append(self, record, response)
        if record.get("stage") == "generate" and len(writer_calls) == 2:
            os._exit(9)  # the call is in the ledger; its step is not finished
    db_ledger.DbLedger.append = append_then_die
if point == "after-step":
    run_step = durable.DBOS.run_step
    def run_step_then_die(options, body):
        def wrapped():
            result = body()
            if options["name"] == "generate:0":
                os._exit(9)  # the step's work is done; DBOS has not recorded it
            return result
        return run_step(options, wrapped)
    durable.DBOS.run_step = run_step_then_die
if point == "in-output":
    write = safeio.write_atomic
    def write_half_then_die(path, text, **kw):
        if str(path).endswith(".md"):  # as write_atomic's temp file would be, half written
            (path.parent / f".{path.name}.k1ll3d.tmp").write_text(text[: len(text) // 2])
            os._exit(9)
        return write(path, text, **kw)
    safeio.write_atomic = write_half_then_die
    import newsroom.outputs_writer as ow
    ow.write_atomic = write_half_then_die

generate_article("battery recycling", settings=scripted_settings(workspace), model=ScriptedModel(default=reply),
                 out_dir=workspace + "/out", execution_id="killed-run")
"""
ALL_CALLS = {"discover": 3, "editorial": 4, "generate": 3, "quality_gate": 1}


def _kill_at(workspace: Path, point: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(workspace / "home")}
    proc = subprocess.run([sys.executable, "-c", CHILD, point, str(workspace)], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr[-2000:]


def _calls(workspace: Path) -> list[dict]:
    ledger = open_ledger(scripted_settings(workspace))
    try:
        return [r for r in ledger.read().records if r["type"] == "llm_call"]
    finally:
        ledger.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("point", "fresh_calls"), [
    ("in-call", 3),        # the in-flight section again, the third, the review
    ("after-ledger", 2),   # the third section and the review: the second replays from the ledger
    ("after-step", 1),     # the review: the generate step re-runs on three replayed calls
    ("in-output", 0),      # nothing: only the outputs are written again
])
def test_a_run_killed_anywhere_resumes_without_paying_twice(flow_workspace: Path, point: str,
                                                            fresh_calls: int) -> None:
    _kill_at(flow_workspace, point)
    before = _calls(flow_workspace)
    assert len({r["call_key"] for r in before}) == len(before)

    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    result = generate_article(settings=scripted_settings(flow_workspace), model=model, resume="killed-run")

    assert result.status == "published" and result.execution_id == "killed-run", result.reason
    assert len(model.calls) == fresh_calls
    calls = _calls(flow_workspace)
    assert Counter(r["stage"] for r in calls) == ALL_CALLS  # every call recorded once, none twice
    assert len({(r["call_key"], r["attempt"]) for r in calls}) == len(calls) == 11
    assert result.usage.llm_calls == 11
    article = Path(result.article_path)
    assert article.read_text().count("\n## ") == 3
    # One article, under the name the first attempt claimed, and no half-written file left behind.
    assert sorted(p.name for p in article.parent.iterdir()) == [article.name, Path(result.review_path).name]


def test_budget_stop_then_resume_with_a_bigger_budget(flow_workspace: Path) -> None:
    first = generate_article("battery recycling", settings=scripted_settings(flow_workspace, budget_tokens=2500),
                             model=ScriptedModel(default=script([CLEAN_SECTIONS])), out_dir=flow_workspace / "out")
    assert first.status == "budget_exceeded"
    spent = first.usage.llm_calls
    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    second = generate_article(settings=scripted_settings(flow_workspace, budget_tokens=100_000), model=model,
                              resume=first.execution_id)
    assert second.status == "published", second.reason
    assert second.usage.llm_calls == 11 and len(model.calls) == 11 - spent
    assert second.article_path == first.article_path  # the run replaced its own partial article


def test_unknown_or_finished_ids_are_errors_not_fresh_runs(flow_workspace: Path) -> None:
    settings = scripted_settings(flow_workspace)
    with pytest.raises(ConfigError, match="no run with execution id 'nope'"):
        generate_article(settings=settings, model=ScriptedModel(), resume="nope")
    done = generate_article("battery recycling", settings=settings,
                            model=ScriptedModel(default=script([CLEAN_SECTIONS])))
    with pytest.raises(ConfigError, match="already finished as 'published'"):
        generate_article(settings=settings, model=ScriptedModel(), resume=done.execution_id)


# The same guarantee end to end: the real CLI, SIGKILL from outside (no hook in the process), the
# openai provider over HTTP to the fake server, the embedded SQLite database. Killed while its sixth
# call (the third of the editorial step) is in flight, the resumed run replays the step's first two
# calls and the discover step's three, and makes only the one that was in flight again.
@pytest.mark.timeout(300)
def test_generate_killed_with_sigkill_resumes_from_the_cli_and_pays_once(tmp_path: Path) -> None:
    import json
    import signal
    import sqlite3
    import time

    from tests.fakes.process import base_env, newsroom
    from tests.fakes.provider import FakeProvider

    fake = FakeProvider(latency=(1.0, 2.0))
    url = fake.start()
    workspace = tmp_path / "ws"
    env = base_env(tmp_path / "home", workspace)
    run = ("--provider", "openai", "--base-url", url, "--model", "fake-model", "--flag", "style_memory=off", "--json")
    try:
        proc = subprocess.Popen(newsroom("generate", "battery recycling", *run), env=env, cwd=workspace,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while fake.count < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.count == 6 and fake.in_flight == 1, (fake.count, proc.poll())
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        in_flight = 1

        db = sqlite3.connect(workspace / ".newsroom" / "newsroom.sqlite")
        (execution_id,) = {r[0] for r in db.execute("SELECT execution_id FROM newsroom_ledger")}
        db.close()
        resumed = subprocess.run(newsroom("generate", "--resume", execution_id, *run), env=env, cwd=workspace,
                                 capture_output=True, text=True, timeout=240)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        result = json.loads(resumed.stdout)
        assert result["status"] == "published" and result["execution_id"] == execution_id
        assert result["usage"]["llm_calls"] == 11

        db = sqlite3.connect(workspace / ".newsroom" / "newsroom.sqlite")
        keys = [r[0] for r in db.execute("SELECT call_key FROM newsroom_ledger WHERE type = 'llm_call'")]
        db.close()
        print(f"\n[embedded] provider requests {fake.count}, unique calls {len(set(keys))}, in flight at the kill "
              f"{in_flight}")
        assert len(keys) == len(set(keys)) == 11
        assert fake.count <= len(set(keys)) + in_flight
    finally:
        fake.stop()
