from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.llm.structured import acomplete_structured, complete_structured, parse_output
from newsroom.roi.ledger import RoiLedger


class Section(BaseModel):
    heading: str
    points: list[str]


class Outline(BaseModel):
    title: str
    sections: list[Section]


VALID = {"title": "Tides", "sections": [{"heading": "Why", "points": ["moon", "sun"]},
                                        {"heading": "When", "points": []}]}
EXPECTED = Outline.model_validate(VALID)


def test_a_valid_reply_parses_into_the_nested_model(metered: Metered, scripted_model: ScriptedModel,
                                                     ledger_path: Path) -> None:
    scripted_model.enqueue(json.dumps(VALID))
    outline, completion = complete_structured(metered, ChatRequest.of("outline tides"), Outline,
                                              stage="editorial", agent="editor")
    assert outline == EXPECTED
    assert isinstance(outline.sections[0], Section)
    assert completion.text == json.dumps(VALID)
    assert scripted_model.calls[0].request.output_type is Outline  # the provider is asked for the schema
    [record] = RoiLedger(ledger_path).read().records
    assert record["structured"] is True


@pytest.mark.parametrize("wrap", [
    "```json\n{}\n```",
    "```\n{}\n```",
    "Here is the outline:\n{}\nHope it helps.",
    "  {}  ",
])
def test_fenced_or_chatty_replies_parse(metered: Metered, scripted_model: ScriptedModel, wrap: str) -> None:
    scripted_model.enqueue(wrap.replace("{}", json.dumps(VALID, indent=2)))
    outline, _ = complete_structured(metered, ChatRequest.of("q"), Outline, stage="editorial", agent="editor")
    assert outline == EXPECTED
    assert len(scripted_model.calls) == 1


def test_an_invalid_reply_gets_exactly_one_repair_call(metered: Metered, scripted_model: ScriptedModel,
                                                       ledger_path: Path) -> None:
    bad = '{"title": "Tides", "sections": [{"heading": "Why"}]}'
    scripted_model.enqueue(bad, json.dumps(VALID))
    outline, completion = complete_structured(metered, ChatRequest.of("outline tides", system="sys"), Outline,
                                              stage="editorial", agent="editor")

    assert outline == EXPECTED
    assert completion.text == json.dumps(VALID)
    assert len(scripted_model.calls) == 2
    repair = scripted_model.calls[1].request
    assert repair.output_type is Outline
    assert [m.role for m in repair.messages] == ["system", "user", "assistant", "user"]
    assert repair.messages[2].content == bad
    note = repair.messages[3].content
    assert "sections.0.points" in note and "Field required" in note
    calls = RoiLedger(ledger_path).read().records
    assert [(c["stage"], c["status"]) for c in calls] == [("editorial", "ok"), ("editorial", "ok")]


def test_two_invalid_replies_raise_naming_the_stage(metered: Metered, scripted_model: ScriptedModel,
                                                    ledger_path: Path) -> None:
    scripted_model.enqueue("not json at all", '{"title": 42}')
    with pytest.raises(ProviderError) as info:
        complete_structured(metered, ChatRequest.of("q"), Outline, stage="editorial", agent="editor")
    assert info.value.stage == "editorial"
    assert str(info.value).startswith("[editorial] ")
    assert "Outline" in str(info.value)
    records = RoiLedger(ledger_path).read().records
    assert len(records) == 2
    assert {r["stage"] for r in records} == {"editorial"}
    assert len(scripted_model.calls) == 2


def test_async_variant_repairs_too(metered: Metered, scripted_model: ScriptedModel) -> None:
    scripted_model.enqueue("{}", f"```json\n{json.dumps(VALID)}\n```")
    outline, _ = asyncio.run(acomplete_structured(metered, ChatRequest.of("q"), Outline,
                                                  stage="editorial", agent="editor"))
    assert outline == EXPECTED
    assert len(scripted_model.calls) == 2


def test_parse_output_rejects_text_without_an_object() -> None:
    with pytest.raises(ValueError):
        parse_output("no braces here", Outline)
