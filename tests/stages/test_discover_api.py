"""The discover stage alone, through the API and the sources option."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from newsroom.api import agenerate_article, discover_topics, generate_article
from newsroom.errors import ConfigError
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, GROUNDED_SECTIONS, script, scripted_settings

NOTES = Path(__file__).resolve().parents[2] / "eval" / "sources" / "batteries"

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


def test_sources_are_retrieved_cited_and_listed_exactly(flow_workspace: Path) -> None:
    model = ScriptedModel(default=script([GROUNDED_SECTIONS]))
    result = asyncio.run(agenerate_article("battery recycling", settings=scripted_settings(flow_workspace),
                                           model=model, sources=NOTES, out_dir=flow_workspace / "out"))
    assert result.status == "published", result.reason
    prompts = [c.request.messages[-1].content for c in model.calls]
    assert "Shipments of spent lithium-ion packs" in prompts[0]  # the scout saw the notes
    assert any("[S1] Northmoor Environment Agency" in p for p in prompts)  # the brief
    writer = [p for c, p in zip(model.calls, prompts, strict=True) if c.request.output_type is None]
    # Six chunks over three sections: two each, and never one another section already states. The
    # first is given the agency's figures, which it reports; the second the prices; the third,
    # with the agency and prices stated, the union's notes.
    given = [re.findall(r"^\[(\d)\] ", p.split("Sources:\n", 1)[-1], re.MULTILINE) if "Sources:\n" in p else []
             for p in writer]
    assert [len(g) for g in given] == [2, 2, 2] and all("source's number in brackets" in p for p in writer)
    assert "1" in given[0] and "1" not in given[1] + given[2] and given[2] == ["3", "3"], given
    article = Path(result.article_path).read_text()
    assert article.rstrip().endswith(
        "## References\n\n1. Northmoor Environment Agency: waste battery return, 2025 (agency.md)\n"
        "2. Metal prices and gate fees: notes from the Kestrel Metals Bulletin (prices.md)\n"
        "3. Interview notes: Aled Price, Northmoor Technicians' Union (union.md)")
    review = json.loads(Path(result.review_path).read_text())
    assert review["violations"] == []
    facts = review["facts"]
    assert {f["figure"] for f in facts} >= {"38%", "41,000 tonnes", "£19,500", "27%", "£310", "1,200", "2,000"}
    assert all(f["source"] and f["found"] != "not found" for f in facts)
    assert {f["figure"]: f["source"] for f in facts}["£310"].endswith("(prices.md)")


def test_figures_the_writer_left_uncited_are_cited_by_code(flow_workspace: Path) -> None:
    import re

    uncited = [re.sub(r" \[\d+\]", "", section) for section in GROUNDED_SECTIONS]
    model = ScriptedModel(default=script([uncited]))
    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace), model=model,
                              sources=NOTES, out_dir=flow_workspace / "out")
    assert result.status == "published", result.reason
    article = Path(result.article_path).read_text()
    assert "rose by 38% in 2025, to 41,000 tonnes, according to the Northmoor Environment Agency [1]." in article
    assert "\n## References\n\n1. Northmoor Environment Agency" in article
    review = json.loads(Path(result.review_path).read_text())
    assert review["violations"] == [] and any(a["cited"] for e in review["writer_log"] for a in e["attempts"])


def test_a_source_note_the_writer_pasted_is_cut_from_the_article(flow_workspace: Path) -> None:
    note = ("[1] Northmoor Environment Agency: waste battery return, 2025: # Northmoor Environment Agency: waste "
            "battery return, 2025 Shipments of spent packs rose by 38% in 2025, to 41,000 tonnes.")
    pasted = [GROUNDED_SECTIONS[0] + "\n\n" + note, *GROUNDED_SECTIONS[1:]]
    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace),
                              model=ScriptedModel(default=script([pasted])), sources=NOTES,
                              out_dir=flow_workspace / "out")
    assert result.status == "published", result.reason
    assert "# Northmoor" not in Path(result.article_path).read_text()
    review = json.loads(Path(result.review_path).read_text())
    assert "a pasted source note" in review["writer_log"][0]["attempts"][0]["tidied"]


def test_figures_without_sources_are_caught_before_the_gate(flow_workspace: Path) -> None:
    model = ScriptedModel(default=script([GROUNDED_SECTIONS, CLEAN_SECTIONS]))
    result = generate_article("battery recycling", settings=scripted_settings(flow_workspace), model=model,
                              out_dir=flow_workspace / "out")
    review = json.loads(Path(result.review_path).read_text())
    first = review["writer_log"][0]["attempts"][0]["problems"]
    assert any("not grounded (no source was given)" in p for p in first), first
    assert "Sources:" not in model.calls[-2].request.messages[-1].content
    assert result.status == "published" and review["facts"] == []


def test_bad_topics_are_config_errors(flow_workspace: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        discover_topics("   ", settings=scripted_settings(flow_workspace), model=ScriptedModel())
    with pytest.raises(ConfigError, match="characters"):
        discover_topics("x" * 400, settings=scripted_settings(flow_workspace), model=ScriptedModel())
