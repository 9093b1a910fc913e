"""Structured output on the real local model: json_schema constrained decoding, 19 of 20 at least."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.local import LocalChatModel
from newsroom.llm.metered import Metered
from newsroom.llm.structured import complete_structured
from newsroom.roi.ledger import RoiLedger

pytestmark = pytest.mark.slow


class Score(BaseModel):
    criterion: str = Field(max_length=40)
    value: int = Field(ge=1, le=5)


class Angle(BaseModel):
    headline: str = Field(max_length=90)
    thesis: str = Field(max_length=160)
    scores: list[Score] = Field(min_length=1, max_length=3)


TOPICS = ["rents in Berlin", "battery recycling", "coffee prices", "remote work", "lithium mining"]


def test_nested_model_is_valid_at_least_19_times_in_20(local_server, tmp_path: Path) -> None:
    model = LocalChatModel(local_server.config, model_name="SmolLM2-135M-Instruct-Q4_1")
    metered = Metered(model, RoiLedger(tmp_path / "ledger.jsonl"), execution_id="structured")
    valid = 0
    for i in range(20):
        request = ChatRequest.of(f"Propose one article angle about {TOPICS[i % 5]}: a headline, a thesis "
                                 "and one to three scores from 1 to 5.", system="You are an editor.",
                                 max_tokens=260, temperature=0.7, seed=i)
        try:
            angle, _ = complete_structured(metered, request, Angle, stage="test", agent="scout")
        except ProviderError:
            continue
        assert isinstance(angle, Angle) and all(isinstance(s, Score) for s in angle.scores)
        valid += 1
    assert valid >= 19, f"only {valid}/20 structured calls produced a valid Angle"
    records = metered.ledger.read().records
    assert all(r["structured"] for r in records)
    assert len(records) >= 20
