"""The discover stage alone, through the API and the sources option."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from newsroom.api import agenerate_article, discover_topics
from newsroom.errors import ConfigError
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow


def test_discover_topics_ranks_candidates_and_meters_the_call(flow_workspace: Path) -> None:
    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    candidates = discover_topics("battery recycling", n=3, settings=scripted_settings(flow_workspace), model=model)
    assert [c.number for c in candidates] == [1, 2, 3]
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
    assert candidates[0].hook.startswith("Britain's battery recyclers")
    records = RoiLedger(flow_workspace / "logs" / "execution_roi.jsonl").read().records
    assert [(r["type"], r.get("stage")) for r in records] == [("llm_call", "discover")] * 3 + [("run", None)]
    prompts = [c.request.messages[-1].content for c in model.calls]
    # One lens per call, so the angles differ.
    assert "from this side: what it costs and who pays" in prompts[0]
    assert "from this side: what the evidence shows so far" in prompts[2]


def test_sources_reach_the_brief_the_writer_and_the_references(flow_workspace: Path) -> None:
    notes = flow_workspace / "notes"
    notes.mkdir()
    (notes / "agency.md").write_text("# Environment Agency return\nShipments of spent cells rose 38% in 2025.\n")
    (notes / "quotes.txt").write_text("The plant manager said: we turn away one load in five.\n")
    model = ScriptedModel(default=script([CLEAN_SECTIONS]))
    result = asyncio.run(agenerate_article("battery recycling", settings=scripted_settings(flow_workspace),
                                           model=model, sources=notes, out_dir=flow_workspace / "out"))
    assert result.status == "published"
    prompts = [c.request.messages[-1].content for c in model.calls]
    assert "Shipments of spent cells rose 38% in 2025" in prompts[0]  # the scout
    assert any("[S1] Environment Agency return" in p and "[S2] quotes" in p for p in prompts)  # the brief
    article = Path(result.article_path).read_text()
    assert "## References\n\n1. Environment Agency return (agency.md)\n2. quotes (quotes.txt)" in article
    review = json.loads(Path(result.review_path).read_text())
    assert [s["id"] for s in review["sources"]] == ["S1", "S2"]


def test_bad_topics_are_config_errors(flow_workspace: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        discover_topics("   ", settings=scripted_settings(flow_workspace), model=ScriptedModel())
    with pytest.raises(ConfigError, match="characters"):
        discover_topics("x" * 400, settings=scripted_settings(flow_workspace), model=ScriptedModel())
