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
