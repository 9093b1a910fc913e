"""The whole article flow on the scripted model: every outcome, with exact ledger records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsroom.api import generate_article
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger

from .conftest import CLEAN_SECTIONS, DIRTY_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow  # crewAI import and Flow construction take a few seconds

PUBLISH_CALLS = [
    ("discover", "Story scout"), ("discover", "Story scout"), ("discover", "Story scout"),
    ("editorial", "Editor-in-chief"), ("editorial", "Data editor"), ("editorial", "Section editor"),
    ("editorial", "Commissioning editor"),
    ("generate", "Staff writer"), ("generate", "Staff writer"), ("generate", "Staff writer"),
    ("quality_gate", "Chief sub-editor"),
]
ROUND = PUBLISH_CALLS[7:]  # a revision that rewrites every section
WRITER, EDITOR = ("generate", "Staff writer"), ("quality_gate", "Chief sub-editor")


def _calls(workspace: Path, execution_id: str) -> list[dict]:
    records = RoiLedger(workspace / "logs" / "execution_roi.jsonl").read().records
    return [r for r in records if r["execution_id"] == execution_id]


def _run(workspace: Path, reply, **settings):
    flags = settings.pop("flags", {})
    model = ScriptedModel(default=reply)
    result = generate_article("battery recycling", settings=scripted_settings(workspace, flags=flags, **settings),
                              model=model, out_dir=workspace / "out")
    return result, model


def test_publish_writes_both_files_and_meters_every_call(flow_workspace: Path) -> None:
    result, model = _run(flow_workspace, script([CLEAN_SECTIONS]))
    assert result.status == "published", result.reason
    assert result.revisions == 0
    records = _calls(flow_workspace, result.execution_id)
    calls = [r for r in records if r["type"] == "llm_call"]
    assert [(r["stage"], r["agent"]) for r in calls] == PUBLISH_CALLS
    assert all(r["status"] == "ok" and r["attempt"] == 1 and r["provider"] == "scripted" for r in calls)
    # Token counts are the scripted model's own, call by call.
    assert [r["input_tokens"] for r in calls] == [max(1, c.request.prompt_chars() // 4) for c in model.calls]
    run = [r for r in records if r["type"] == "run"]
    assert len(run) == 1 and run[0]["status"] == "published" and run[0]["llm_calls"] == len(PUBLISH_CALLS)
    assert result.usage.llm_calls == len(PUBLISH_CALLS)

    article = Path(result.article_path).read_text()
    assert article.startswith("---\nlayout: post\ntitle: \"Britain's battery recyclers cannot keep up\"")
    assert article.count("\n## ") == 3 and CLEAN_SECTIONS[1][:60] in article
    review = json.loads(Path(result.review_path).read_text())
    assert review["status"] == "published" and review["violations"] == []
    assert review["decision"]["winner"] == 1 and review["decision"]["consensus"] == 1.0
    assert [r["decision"] for r in review["revision_history"]] == ["publish"]
    assert review["editor_review"]["score"] == 1.0 and all(c["quote"] for c in review["editor_review"]["checks"])
    assert [entry["attempts"][0]["problems"] for entry in review["writer_log"]] == [[], [], []]
    assert set(review["usage_by_stage"]) == {"discover", "editorial", "generate", "quality_gate"}
    assert review["flags"]["style_memory"] is False


def test_the_writer_respells_american_spellings_before_the_gate(flow_workspace: Path) -> None:
    american = [CLEAN_SECTIONS[0].replace(". ", ". The colors of the program were analyzed. ", 1), *CLEAN_SECTIONS[1:]]
    result, _ = _run(flow_workspace, script([american]))
    assert result.status == "published", result.reason
    assert "The colours of the programme were analysed." in Path(result.article_path).read_text()
    review = json.loads(Path(result.review_path).read_text())
    assert review["violations"] == []
    assert review["writer_log"][0]["attempts"][0]["respelt"] == [
        "colors -> colours", "program -> programme", "analyzed -> analysed"]


def test_revise_then_publish_rewrites_only_the_section_the_editor_quoted(flow_workspace: Path) -> None:
    result, model = _run(flow_workspace, script([CLEAN_SECTIONS, CLEAN_SECTIONS], reviews=[2, 4]))
    assert result.status == "published" and result.revisions == 1, result.reason
    calls = [r for r in _calls(flow_workspace, result.execution_id) if r["type"] == "llm_call"]
    # The editor's fix quoted the first section, so only that section is written again.
    assert [(r["stage"], r["agent"]) for r in calls] == PUBLISH_CALLS + [WRITER, EDITOR]
    review = json.loads(Path(result.review_path).read_text())
    history = review["revision_history"]
    assert [r["decision"] for r in history] == ["revise", "publish"]
    assert history[0]["reasons"] == ["editor score 0.0 is below 0.75 (failed: on_topic, makes_argument, specific, "
                                     "new_points)"]
    fix = history[0]["review"]["required_fixes"][0]
    assert fix["sentence"] == 1 and fix["quote"] == CLEAN_SECTIONS[0].split(". ")[0] + "."
    rewrite = [c.request.messages[-1].content for c in model.calls if c.request.output_type is None][-1]
    assert '"A flood of spent packs"' in rewrite and f"'{fix['quote']}': vague. be specific" in rewrite


def _writer_calls(review: dict) -> list[tuple[str, str]]:
    """The ledger's expected calls for each round: the writer's attempts (from its own log), then the editor."""
    calls: list[tuple[str, str]] = []
    for revision in range(len(review["revision_history"])):
        attempts = sum(len(e["attempts"]) for e in review["writer_log"] if e["revision"] == revision)
        calls += [WRITER] * attempts + [EDITOR]
    return calls


def test_rejected_after_max_revisions_says_why(flow_workspace: Path) -> None:
    result, model = _run(flow_workspace, script([DIRTY_SECTIONS]), max_revisions=2)
    assert result.status == "rejected" and result.revisions == 2
    calls = [r for r in _calls(flow_workspace, result.execution_id) if r["type"] == "llm_call"]
    review = json.loads(Path(result.review_path).read_text())
    assert [r["decision"] for r in review["revision_history"]] == ["revise", "revise", "reject"]
    # Each dirty section is drafted three times (too short, and breaking the house style), every round:
    # the ledger has exactly the writer's logged attempts.
    assert [(r["stage"], r["agent"]) for r in calls] == PUBLISH_CALLS[:7] + _writer_calls(review)
    assert all(len(e["attempts"]) == 3 and e["attempts"][0]["problems"] for e in review["writer_log"])
    # The writer cut what the gate would block sentence by sentence; the article stays short.
    assert "cliche" in {v["category"] for v in review["violations"]}
    assert result.reason and "high structure.word-count" in result.reason
    assert any(entry["cuts"] for entry in review["writer_log"])
    # A retry is told what was wrong; a revision is told the gate's findings for its section.
    prompts = [c.request.messages[-1].content for c in model.calls if c.request.output_type is None]
    assert "This part was sent back" not in prompts[0] and "too short: 1" in prompts[1]
    assert "In today's fast-paced world" in prompts[1]
    revisions = [p for p in prompts if "the article is too short" in p]
    assert revisions and all("This part was sent back" in p for p in revisions)
    assert len(prompts) - prompts.index(revisions[0]) == sum(  # every prompt from there on is a revision round's
        len(e["attempts"]) for e in review["writer_log"] if e["revision"] > 0)
    assert Path(result.article_path).exists()


def test_zero_revisions_ends_as_needs_revision(flow_workspace: Path) -> None:
    result, _ = _run(flow_workspace, script([DIRTY_SECTIONS]), max_revisions=0)
    assert result.status == "needs_revision" and result.revisions == 0


def test_budget_exceeded_keeps_partial_outputs(flow_workspace: Path) -> None:
    result, _ = _run(flow_workspace, script([CLEAN_SECTIONS]), budget_tokens=2500)
    assert result.status == "budget_exceeded"
    records = _calls(flow_workspace, result.execution_id)
    calls = [r for r in records if r["type"] == "llm_call"]
    spent = sum(r["input_tokens"] + r["output_tokens"] for r in calls)
    assert 0 < len(calls) < len(PUBLISH_CALLS)
    assert result.usage.input_tokens + result.usage.output_tokens == spent
    review = json.loads(Path(result.review_path).read_text())
    assert review["status"] == "budget_exceeded" and "budget" in review["reason"]
    assert review["candidates"], "the stages finished before the stop are kept"
    run = [r for r in records if r["type"] == "run"]
    assert run[0]["status"] == "budget_exceeded"


def test_budget_guard_off_ignores_the_budget(flow_workspace: Path) -> None:
    result, _ = _run(flow_workspace, script([CLEAN_SECTIONS]), budget_tokens=2500, flags={"budget_guard": "off"})
    assert result.status == "published"


@pytest.mark.parametrize("llm_review", ["on", "off"])
def test_flow_engine_on_and_off_produce_the_same_article(flow_workspace: Path, llm_review: str) -> None:
    outcomes = []
    for engine in ("on", "off"):
        result, model = _run(flow_workspace, script([DIRTY_SECTIONS, CLEAN_SECTIONS], reviews=[4]),
                             flags={"flow_engine": engine, "llm_review": llm_review})
        calls = [(r["stage"], r["agent"], r["input_tokens"], r["output_tokens"])
                 for r in _calls(flow_workspace, result.execution_id) if r["type"] == "llm_call"]
        review = json.loads(Path(result.review_path).read_text())
        outcomes.append((result.status, result.revisions, Path(result.article_path).read_text(), calls,
                         [r["decision"] for r in review["revision_history"]]))
    assert outcomes[0] == outcomes[1]
    # The writer's own check sent each dirty section back, and its retry came out clean.
    assert outcomes[0][0] == "published" and outcomes[0][1] == 0
