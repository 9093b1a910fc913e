"""Faults in the middle of a run: each is retried, degraded, or ends as `failed` with a reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newsroom.api import generate_article
from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger
from newsroom.stages.models import BriefDraft

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow


def test_connection_refused_mid_run_is_retried_then_fails_with_the_reason(flow_workspace: Path) -> None:
    base = script([CLEAN_SECTIONS])

    def reply(request: ChatRequest) -> str:
        if request.output_type is BriefDraft:  # the provider goes away during editorial
            raise ProviderError("cannot connect to local (APIConnectionError); check --base-url", retryable=True)
        return base(request)

    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace, max_retries=1),
                              model=ScriptedModel(default=reply), out_dir=flow_workspace / "out")
    assert result.status == "failed" and "[editorial] cannot connect" in result.reason
    calls = [r for r in RoiLedger(flow_workspace / "logs" / "execution_roi.jsonl").read().records
             if r["type"] == "llm_call" and r["stage"] == "editorial"]
    assert [(r["status"], r["attempt"]) for r in calls[-2:]] == [("error", 1), ("error", 2)]
    review = json.loads(Path(result.review_path).read_text())
    assert review["candidates"] and review["brief"] is None  # what finished before the fault is kept


def test_a_transient_fault_is_retried_and_the_run_publishes(flow_workspace: Path) -> None:
    base, failures = script([CLEAN_SECTIONS]), [0]

    def reply(request: ChatRequest) -> str:
        if request.output_type is BriefDraft and failures[0] == 0:
            failures[0] += 1
            raise ProviderError("local answered HTTP 503 (InternalServerError)", retryable=True)
        return base(request)

    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace, max_retries=2),
                              model=ScriptedModel(default=reply), out_dir=flow_workspace / "out")
    assert result.status == "published" and result.usage.llm_calls == 12  # eleven calls and one retried attempt


def test_the_style_store_vanishing_mid_run_degrades_instead_of_failing(flow_workspace: Path) -> None:
    base = script([CLEAN_SECTIONS])
    store = flow_workspace / ".newsroom" / "chroma"

    def reply(request: ChatRequest) -> str:
        if request.output_type is BriefDraft:
            shutil.rmtree(store, ignore_errors=True)  # the store disappears under the running flow
        return base(request)

    settings = scripted_settings(flow_workspace, flags={"style_memory": "on"})
    result = generate_article("battery recycling", settings=settings, model=ScriptedModel(default=reply),
                              out_dir=flow_workspace / "out")
    assert result.status == "published", result.reason
    review = json.loads(Path(result.review_path).read_text())
    assert review["flags"]["style_memory"] is True
    assert any(note.startswith("style memory degraded") for note in review["notes"]), review["notes"]
