"""Resumable runs: a real generate process SIGKILLed mid-stage continues without repeating calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from newsroom.api import generate_article
from newsroom.errors import ConfigError
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys, time
from tests.stages.conftest import CLEAN_SECTIONS, script, scripted_settings
from newsroom.api import generate_article
from newsroom.llm.scripted import ScriptedModel

base, sections = script([CLEAN_SECTIONS]), []
def reply(request):
    text = base(request)
    if request.output_type is None:
        sections.append(text)
        if len(sections) == 2:
            time.sleep(120)  # the parent kills us here, mid-way through the generate stage
    return text

workspace = sys.argv[1]
generate_article("battery recycling", settings=scripted_settings(workspace), model=ScriptedModel(default=reply),
                 out_dir=workspace + "/out", execution_id="killed-run")
"""


def _wait_for_first_section(checkpoint: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "child exited early"
        if checkpoint.exists():
            try:
                if len([b for b in json.loads(checkpoint.read_text())["state"]["sections"] if b]) == 1:
                    return
            except (ValueError, KeyError):
                pass  # never half a file: written atomically, but be patient with a rename in flight
        time.sleep(0.1)
    raise AssertionError("the child never finished its first section")


def test_sigkilled_generate_resumes_without_repeating_calls(flow_workspace: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(flow_workspace / "home")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(flow_workspace)], cwd=flow_workspace, env=env,
                            stderr=subprocess.PIPE, text=True)
    checkpoint = flow_workspace / ".newsroom" / "runs" / "killed-run.json"
    try:
        _wait_for_first_section(checkpoint, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    ledger = RoiLedger(flow_workspace / "logs" / "execution_roi.jsonl")
    before = [r for r in ledger.read().records if r["type"] == "llm_call"]
    assert Counter(r["stage"] for r in before) == {"discover": 3, "editorial": 4, "generate": 1}

    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    result = generate_article(settings=scripted_settings(flow_workspace), model=model, resume="killed-run")

    assert result.status == "published" and result.execution_id == "killed-run"
    report = ledger.read()
    assert not report.skipped_lines
    calls = [r for r in report.records if r["type"] == "llm_call"]
    assert Counter(r["stage"] for r in calls) == {"discover": 3, "editorial": 4, "generate": 3, "quality_gate": 1}
    assert len(model.calls) == 3  # two sections and the review: nothing earlier was asked again
    runs = [r for r in report.records if r["type"] == "run"]
    assert len(runs) == 1 and runs[0]["llm_calls"] == 11 and result.usage.llm_calls == 11
    article = Path(result.article_path).read_text()
    assert article.count("\n## ") == 3 and str(flow_workspace / "out") in result.article_path


def test_budget_stop_then_resume_with_a_bigger_budget(flow_workspace: Path) -> None:
    first = generate_article("battery recycling", settings=scripted_settings(flow_workspace, budget_tokens=2500),
                             model=ScriptedModel(default=script([CLEAN_SECTIONS])), out_dir=flow_workspace / "out")
    assert first.status == "budget_exceeded"
    spent = first.usage.llm_calls
    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    second = generate_article(settings=scripted_settings(flow_workspace, budget_tokens=100_000), model=model,
                              resume=first.execution_id)
    assert second.status == "published"
    assert second.usage.llm_calls == 11 and len(model.calls) == 11 - spent


def test_unknown_or_finished_ids_are_errors_not_fresh_runs(flow_workspace: Path) -> None:
    settings = scripted_settings(flow_workspace)
    with pytest.raises(ConfigError, match="no checkpoint for execution 'nope'"):
        generate_article(settings=settings, model=ScriptedModel(), resume="nope")
    with pytest.raises(ConfigError, match="not valid"):
        generate_article(settings=settings, model=ScriptedModel(), resume="../../etc/passwd")
    done = generate_article("battery recycling", settings=settings,
                            model=ScriptedModel(default=script([CLEAN_SECTIONS])))
    with pytest.raises(ConfigError, match="already finished as 'published'"):
        generate_article(settings=settings, model=ScriptedModel(), resume=done.execution_id)
