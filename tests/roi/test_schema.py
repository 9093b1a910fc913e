"""The ledger's JSON Schema (``newsroom/roi/record.schema.json``) against records Metered really writes."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.llm.structured import complete_structured
from newsroom.roi.ledger import RoiLedger
from newsroom.roi.prices import PriceBook

CONTRACT_CALL_FIELDS = ["type", "ts", "execution_id", "stage", "agent", "provider", "model", "input_tokens",
                        "cached_input_tokens", "output_tokens", "duration_ms", "cost_usd", "status", "attempt"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    text = resources.files("newsroom.roi").joinpath("record.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


class Verdict(BaseModel):
    ok: bool


@pytest.fixture
def real_records(ledger_path: Path) -> list[dict[str, Any]]:
    """Every kind of record, written by Metered around a ScriptedModel."""
    ledger = RoiLedger(ledger_path)
    unpriced = Metered(ScriptedModel(["hello", ProviderError("flaky", retryable=True), "again",
                                      ValueError("boom")]),
                       ledger, execution_id="run-unpriced", sleep=lambda _s: None)
    unpriced.complete(ChatRequest.of("hi"), stage="discover", agent="scout")
    unpriced.complete(ChatRequest.of("hi"), stage="draft", agent="writer")  # error, then ok
    with pytest.raises(ProviderError):
        unpriced.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    unpriced.finish("failed", topic="tides")

    priced = Metered(ScriptedModel(['{"ok": true}']), ledger, execution_id="run-priced",
                     prices=PriceBook({"scripted": {"input": 1.0, "output": 2.0}}))
    complete_structured(priced, ChatRequest.of("judge"), Verdict, stage="review", agent="editor")
    priced.finish("published", article_path="out/x.md", revisions=0)

    report = ledger.read()
    assert report.skipped_lines == []
    return report.records


def test_the_schema_is_draft_2020_12(validator: jsonschema.Draft202012Validator) -> None:
    assert validator.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_real_records_validate(validator: jsonschema.Draft202012Validator,
                               real_records: list[dict[str, Any]]) -> None:
    kinds = {(r["type"], r.get("status")) for r in real_records}
    assert kinds == {("llm_call", "ok"), ("llm_call", "error"), ("run", "failed"), ("run", "published")}
    assert any(r["type"] == "llm_call" and r["cost_usd"] is None for r in real_records)
    assert any(r["type"] == "llm_call" and isinstance(r["cost_usd"], float) for r in real_records)
    assert any(r.get("structured") for r in real_records)
    for record in real_records:
        errors = [e.message for e in validator.iter_errors(record)]
        assert errors == [], (record, errors)


def test_every_call_field_metered_writes_is_declared(validator: jsonschema.Draft202012Validator,
                                                     real_records: list[dict[str, Any]]) -> None:
    declared = set(validator.schema["$defs"]["llm_call"]["properties"])
    written = set().union(*(r for r in real_records if r["type"] == "llm_call"))
    assert written <= declared
    assert set(CONTRACT_CALL_FIELDS) <= set(validator.schema["$defs"]["llm_call"]["required"])


def call_record(real_records: list[dict[str, Any]], status: str = "ok") -> dict[str, Any]:
    return next(dict(r) for r in real_records if r["type"] == "llm_call" and r["status"] == status)


@pytest.mark.parametrize("field", CONTRACT_CALL_FIELDS)
def test_a_call_record_missing_a_contract_field_fails(validator: jsonschema.Draft202012Validator,
                                                      real_records: list[dict[str, Any]], field: str) -> None:
    record = call_record(real_records)
    del record[field]
    assert not validator.is_valid(record)


@pytest.mark.parametrize("field", ["execution_id", "status", "input_tokens", "output_tokens", "cost_usd",
                                   "by_stage"])
def test_a_run_record_missing_a_field_fails(validator: jsonschema.Draft202012Validator,
                                            real_records: list[dict[str, Any]], field: str) -> None:
    record = next(dict(r) for r in real_records if r["type"] == "run")
    del record[field]
    assert not validator.is_valid(record)


@pytest.mark.parametrize(("field", "value"), [
    ("status", "maybe"),
    ("cost_usd", "0.01"),
    ("cost_usd", -1.0),
    ("input_tokens", -1),
    ("output_tokens", 1.5),
    ("attempt", 0),
    ("ts", "yesterday"),
    ("type", "llm_cal"),
    ("stage", ""),
    ("surprise", 1),
])
def test_bad_call_values_fail(validator: jsonschema.Draft202012Validator, real_records: list[dict[str, Any]],
                              field: str, value: object) -> None:
    record = call_record(real_records)
    record[field] = value
    assert not validator.is_valid(record)


def test_an_error_record_must_say_what_failed(validator: jsonschema.Draft202012Validator,
                                              real_records: list[dict[str, Any]]) -> None:
    record = call_record(real_records, "error")
    assert validator.is_valid(record)
    del record["error_type"]
    assert not validator.is_valid(record)


def test_the_schema_ships_in_the_wheel() -> None:
    from hatchling.builders.wheel import WheelBuilder

    root = Path(__file__).resolve().parents[2]
    shipped = {f.distribution_path for f in WheelBuilder(str(root)).recurse_included_files()}
    assert "newsroom/roi/record.schema.json" in shipped
    assert "newsroom/roi/prices.json" in shipped
