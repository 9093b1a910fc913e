"""The ledger is exact: summed tokens equal the llama.cpp server's own counters.

The openai and anthropic SDKs, each pointed at the embedded server, make real calls through
Metered; the ledger's input tokens (cached included) and output tokens must equal the deltas of
``llamacpp:prompt_tokens_total + llamacpp:prompt_tokens_cached_total`` and
``llamacpp:tokens_predicted_total``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from newsroom.llm.anthropic_provider import AnthropicChatModel
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.openai_provider import OpenAIChatModel
from newsroom.roi.ledger import RoiLedger

pytestmark = pytest.mark.slow

PROMPTS = [
    "Name one river in Europe.",
    "Write one sentence about coffee prices.",
    "Say hello.",
    "Name one river in Europe.",  # a repeat, so some prompt tokens come from the cache
]


def _sums(ledger: RoiLedger, execution_id: str) -> tuple[int, int, int, int]:
    calls = [r for r in ledger.read().records if r["type"] == "llm_call" and r["execution_id"] == execution_id]
    return (len(calls), sum(r["input_tokens"] for r in calls), sum(r["cached_input_tokens"] for r in calls),
            sum(r["output_tokens"] for r in calls))


def test_ledger_matches_server_counters_for_both_sdks(local_server, tmp_path: Path) -> None:
    ledger = RoiLedger(tmp_path / "logs" / "execution_roi.jsonl")
    openai_model = OpenAIChatModel("smollm2", api_key="unused", base_url=local_server.base_url + "/v1")
    anthropic_model = AnthropicChatModel("smollm2", api_key="unused", base_url=local_server.base_url)
    before = local_server.metrics()

    for model in (openai_model, anthropic_model):
        metered = Metered(model, ledger, execution_id=f"exact-{model.provider}")
        for prompt in PROMPTS:
            completion = metered.complete(ChatRequest.of(prompt, max_tokens=24), stage="test", agent=model.provider)
            assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
        metered.finish("ok")

    after = local_server.metrics()
    calls_o, in_o, cached_o, out_o = _sums(ledger, "exact-openai")
    calls_a, in_a, cached_a, out_a = _sums(ledger, "exact-anthropic")
    assert calls_o == calls_a == len(PROMPTS)

    prompt_delta = (after["llamacpp:prompt_tokens_total"] - before["llamacpp:prompt_tokens_total"]
                    + after["llamacpp:prompt_tokens_cached_total"] - before["llamacpp:prompt_tokens_cached_total"])
    cached_delta = after["llamacpp:prompt_tokens_cached_total"] - before["llamacpp:prompt_tokens_cached_total"]
    predicted_delta = after["llamacpp:tokens_predicted_total"] - before["llamacpp:tokens_predicted_total"]
    assert in_o + in_a == prompt_delta
    assert cached_o + cached_a == cached_delta
    assert cached_delta > 0, "the repeated prompt should have hit the prompt cache"
    assert out_o + out_a == predicted_delta


def test_concurrent_async_calls_share_the_server_and_stay_exact(local_server, tmp_path: Path) -> None:
    ledger = RoiLedger(tmp_path / "ledger.jsonl")
    model = OpenAIChatModel("smollm2", api_key="unused", base_url=local_server.base_url + "/v1")
    metered = Metered(model, ledger, execution_id="parallel")
    before = local_server.metrics()

    async def run() -> None:
        requests = [ChatRequest.of(f"Count to {n}.", max_tokens=16) for n in range(3, 7)]
        await asyncio.gather(*(metered.acomplete(r, stage="test", agent=f"a{i}") for i, r in enumerate(requests)))

    asyncio.run(run())
    after = local_server.metrics()
    _, tokens_in, _, tokens_out = _sums(ledger, "parallel")
    assert tokens_out == after["llamacpp:tokens_predicted_total"] - before["llamacpp:tokens_predicted_total"]
    assert tokens_in == (after["llamacpp:prompt_tokens_total"] + after["llamacpp:prompt_tokens_cached_total"]
                         - before["llamacpp:prompt_tokens_total"] - before["llamacpp:prompt_tokens_cached_total"])
