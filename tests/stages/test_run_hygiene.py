"""What every run leaves behind, whatever happens in it (issue 10, items 4, 7 and 8):

- an unexpected exception mid-run ends the run as ``failed`` with its review and run record written,
  never a traceback and a half-finished run;
- a crew template with a stray brace stops before any paid call (tested in test_stage_logic);
- a second article on the same topic the same day gets its own file;
- a run closes what it opens: 50 runs leave no more open descriptors than 10 did.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newsroom.api import generate_article
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow  # crewAI's import


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_an_unexpected_exception_mid_run_fails_the_run_with_its_review_and_run_record(
        flow_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsroom.stages import generate

    real_tidy, calls = generate.tidy, []

    def tidy(text: str):  # a bug in our own code halfway through the writer's work
        calls.append(text)
        if len(calls) == 2:
            raise ZeroDivisionError("a library failed in a way nobody planned for")
        return real_tidy(text)

    monkeypatch.setattr(generate, "tidy", tidy)
    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace),
                              model=ScriptedModel(default=script([CLEAN_SECTIONS])), out_dir=flow_workspace / "out")
    assert result.status == "failed"
    assert result.reason == "unexpected error: ZeroDivisionError: a library failed in a way nobody planned for"
    review = json.loads(Path(result.review_path).read_text())
    assert review["status"] == "failed" and review["reason"] == result.reason
    assert Path(result.article_path).read_text().count("\n## ") == 1  # the section finished before it is kept
    runs = [r for r in RoiLedger(flow_workspace / "logs" / "execution_roi.jsonl").read().records if r["type"] == "run"]
    assert [r["status"] for r in runs] == ["failed"]
    from dbos import DBOS

    # The run itself ended (its workflow has its result): nothing is left "running".
    status = DBOS.get_workflow_status(result.execution_id)
    assert status is not None and status.status == "SUCCESS" and status.output["status"] == "failed"


def test_the_same_topic_twice_the_same_day_keeps_both_articles(flow_workspace: Path) -> None:
    settings = scripted_settings(flow_workspace)
    results = [generate_article("battery recycling", settings=settings, out_dir=flow_workspace / "out",
                                model=ScriptedModel(default=script([CLEAN_SECTIONS]))) for _ in range(2)]
    paths = [Path(r.article_path) for r in results]
    assert paths[0] != paths[1] and all(p.exists() for p in paths)
    assert paths[1].name == paths[0].name.replace(".md", f"-{results[1].execution_id[:8]}.md")
    assert len({r.review_path for r in results}) == 2


def test_runs_close_what_they_open(flow_workspace: Path) -> None:
    settings = scripted_settings(flow_workspace)

    def run(n: int) -> None:
        for _ in range(n):
            generate_article("battery recycling", settings=settings, out_dir=flow_workspace / "out",
                             model=ScriptedModel(default=script([CLEAN_SECTIONS])))

    run(15)  # the database pools and crewAI's lazy state fill up first
    after_15 = _open_fds()
    run(30)
    assert _open_fds() <= after_15 + 2  # a leak of one descriptor a run would add 30
