"""The compiled record check agrees with jsonschema, the reference, on every record we can think of."""

from __future__ import annotations

import copy
import json
import random
from importlib import resources
from typing import Any

import jsonschema
import pytest

from newsroom.roi.validate import compile_schema, record_check
from tests.roi.test_ledger import CALL, RUN

SCHEMA = json.loads(resources.files("newsroom.roi").joinpath("record.schema.json").read_text(encoding="utf-8"))
REFERENCE = jsonschema.Draft202012Validator(SCHEMA)
VALUES: list[Any] = [None, "", "x", "ok", "error", "llm_call", "run", -1, 0, 1, 2.5, 1.0, -0.5, True, False, [],
                     ["a"], {}, {"llm_calls": 1}, "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z\n", "a" * 501]
STAGE = {"llm_calls": 1, "failed_calls": 0, "input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 2,
         "cost_usd": None, "llm_seconds": 0.5}
ERROR_CALL = {**CALL, "status": "error", "error_type": "ProviderError", "error": "busy", "response_model": None}
RECORDS = [CALL, ERROR_CALL, {**RUN, "by_stage": {"draft": STAGE}, "topic": "tides", "v": 1}]


def mutations(record: dict[str, Any]) -> list[Any]:
    """Each field set to each value, dropped, and an unknown field added; the same one level down."""
    out: list[Any] = []
    for key in [*record, "unknown"]:
        out.append({k: v for k, v in record.items() if k != key})
        out.extend({**record, key: value} for value in VALUES)
    for value in VALUES:
        if "by_stage" in record:
            for key in [*STAGE, "extra"]:
                out.append({**record, "by_stage": {"draft": {**STAGE, key: value}}})
    return out


def fuzz(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    mutated = copy.deepcopy(record)
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*mutated, "extra"])
        if rng.random() < 0.2:
            mutated.pop(key, None)
        else:
            mutated[key] = rng.choice(VALUES)
    return mutated


@pytest.mark.parametrize("record", RECORDS, ids=["call", "error-call", "run"])
def test_agrees_with_jsonschema_on_every_single_mutation(record: dict[str, Any]) -> None:
    check = record_check()
    assert check(record) and REFERENCE.is_valid(record)
    cases = mutations(record)
    disagreements = [case for case in cases if check(case) != REFERENCE.is_valid(case)]
    assert disagreements == []
    assert sum(1 for case in cases if not check(case)) > len(cases) // 2  # most of them are invalid


def test_agrees_with_jsonschema_on_random_mutations() -> None:
    rng, check = random.Random(20261129), record_check()
    for _ in range(3000):
        case = fuzz(rng, rng.choice(RECORDS))
        assert check(case) == REFERENCE.is_valid(case), case


def test_a_keyword_it_does_not_know_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(ValueError, match="'oneOf'"):
        compile_schema({"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}})
    with pytest.raises(ValueError, match="unsupported \\$ref"):
        compile_schema({"$ref": "https://example.com/schema"})
