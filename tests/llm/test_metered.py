from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from newsroom.config import Settings
from newsroom.errors import BudgetExceeded, ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage
from newsroom.llm.factory import build_metered
from newsroom.llm.metered import Budget, Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger
from newsroom.roi.prices import PriceBook
from tests.conftest import EXECUTION_ID

CONTRACT_FIELDS = {"type", "ts", "execution_id", "stage", "agent", "provider", "model", "input_tokens",
                   "cached_input_tokens", "output_tokens", "duration_ms", "cost_usd", "status", "attempt"}
SCRIPTED_PRICE = {"scripted": {"input": 1.0, "output": 2.0}}  # USD per 1M tokens


def records(path: Path) -> list[dict[str, Any]]:
    report = RoiLedger(path).read()
    assert report.skipped_lines == []
    return report.records


def calls(path: Path) -> list[dict[str, Any]]:
    return [r for r in records(path) if r["type"] == "llm_call"]


def make(model: ChatModel, path: Path, *, prices: dict[str, Any] | None = None, budget: Budget | None = None,
         max_retries: int = 3, secrets: tuple[str, ...] = (), sleeps: list[float] | None = None) -> Metered:
    return Metered(model, RoiLedger(path), execution_id=EXECUTION_ID, prices=PriceBook(prices),
                   budget=budget, max_retries=max_retries, secrets=secrets,
                   sleep=(sleeps if sleeps is not None else []).append)


def test_one_record_per_call_with_every_contract_field(metered: Metered, scripted_model: ScriptedModel,
                                                       ledger_path: Path) -> None:
    scripted_model.enqueue("y" * 40)
    completion = metered.complete(ChatRequest.of("x" * 400, max_tokens=64), stage="draft", agent="writer")

    [record] = records(ledger_path)
    assert CONTRACT_FIELDS <= set(record)
    assert record["type"] == "llm_call"
    assert datetime.fromisoformat(record["ts"].replace("Z", "+00:00")).tzinfo is not None
    assert (record["execution_id"], record["stage"], record["agent"]) == (EXECUTION_ID, "draft", "writer")
    assert (record["provider"], record["model"], record["response_model"]) == ("scripted", "scripted", "scripted")
    assert (record["status"], record["attempt"]) == ("ok", 1)
    assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert record["cost_usd"] is None  # the scripted model has no price: unknown, not 0
    assert (record["max_tokens"], record["structured"], record["finish_reason"]) == (64, False, "stop")
    assert "error" not in record and "error_type" not in record
    assert completion.text == "y" * 40


def test_tokens_are_the_models_reported_usage(metered: Metered, scripted_model: ScriptedModel,
                                              ledger_path: Path) -> None:
    scripted_model.enqueue("y" * 40, "z" * 3)
    first = metered.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer")
    second = metered.complete(ChatRequest.of("hello", system="be brief"), stage="draft", agent="writer")
    assert first.usage == Usage(input_tokens=100, output_tokens=10)
    assert second.usage == Usage(input_tokens=3, output_tokens=1)
    got = [(r["input_tokens"], r["cached_input_tokens"], r["output_tokens"]) for r in records(ledger_path)]
    assert got == [(100, 0, 10), (3, 0, 1)]


def test_retries_a_retryable_error_recording_every_attempt(metered: Metered, scripted_model: ScriptedModel,
                                                           ledger_path: Path, sleeps: list[float]) -> None:
    scripted_model.enqueue(ProviderError("503", retryable=True), ProviderError("timeout", retryable=True), "done")
    completion = metered.complete(ChatRequest.of("x" * 40), stage="draft", agent="writer")

    assert completion.text == "done"
    got = [(r["attempt"], r["status"]) for r in records(ledger_path)]
    assert got == [(1, "error"), (2, "error"), (3, "ok")]
    errors = records(ledger_path)[:2]
    assert [r["error_type"] for r in errors] == ["ProviderError", "ProviderError"]
    assert "503" in errors[0]["error"]
    assert all(r["input_tokens"] == 0 and r["output_tokens"] == 0 for r in errors)
    assert len(sleeps) == 2  # backed off twice, through the injected sleep
    totals = metered.totals().total
    assert (totals.llm_calls, totals.failed_calls) == (3, 2)


@pytest.mark.parametrize("error", [ProviderError("HTTP 400 bad request"), ValueError("boom")])
def test_no_retry_on_a_non_retryable_error(metered: Metered, scripted_model: ScriptedModel, ledger_path: Path,
                                           sleeps: list[float], error: Exception) -> None:
    scripted_model.enqueue(error, "never used")
    with pytest.raises(ProviderError) as info:
        metered.complete(ChatRequest.of("hi"), stage="editorial", agent="editor")

    assert str(info.value).startswith("[editorial] ")
    assert info.value.stage == "editorial"
    assert info.value.retryable is False
    [record] = records(ledger_path)
    assert (record["status"], record["attempt"], record["error_type"]) == ("error", 1, type(error).__name__)
    assert sleeps == []
    assert len(scripted_model.calls) == 1


def test_gives_up_after_max_retries(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    sleeps: list[float] = []
    metered = make(scripted_model, ledger_path, max_retries=2, sleeps=sleeps)
    scripted_model.enqueue(*(ProviderError(f"overloaded {i}", retryable=True) for i in range(5)))
    with pytest.raises(ProviderError, match=r"^\[draft\] overloaded 2$"):
        metered.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    assert [(r["attempt"], r["status"]) for r in records(ledger_path)] == [(1, "error"), (2, "error"),
                                                                          (3, "error")]
    assert len(sleeps) == 2


def test_cost_is_none_for_an_unknown_model_and_exact_for_a_priced_one(workspace: Path, ledger_path: Path) -> None:
    settings = Settings.load(provider="scripted", prices=SCRIPTED_PRICE)
    priced = build_metered(settings, execution_id="priced", model=ScriptedModel(["y" * 2000]))
    unpriced = build_metered(settings, execution_id="unpriced", model=ScriptedModel(["y" * 2000],
                                                                                    model_name="mystery"))
    priced.complete(ChatRequest.of("x" * 4000), stage="draft", agent="writer")
    unpriced.complete(ChatRequest.of("x" * 4000), stage="draft", agent="writer")

    by_run = {r["execution_id"]: r for r in records(settings.ledger_path)}
    # 1000 input tokens * $1/M + 500 output tokens * $2/M
    assert by_run["priced"]["cost_usd"] == pytest.approx(0.002, abs=1e-12)
    assert by_run["unpriced"]["cost_usd"] is None
    assert priced.totals().total.cost_usd == pytest.approx(0.002, abs=1e-12)
    assert unpriced.totals().total.cost_usd is None


class CachingModel(ChatModel):
    """A provider that reports cached prompt tokens (as OpenAI and Anthropic do)."""

    provider = "openai"

    def __init__(self, model_name: str = "gpt-4o-mini", response_model: str | None = None) -> None:
        self.model_name = model_name
        self.response_model = response_model or model_name

    def complete(self, request: ChatRequest) -> Completion:
        return Completion("ok", Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=500),
                          model=self.response_model, finish_reason="stop", response_id="resp-1")


def test_cached_tokens_are_priced_at_the_cached_rate(ledger_path: Path) -> None:
    make(CachingModel(), ledger_path).complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    make(CachingModel("scripted"), ledger_path,
         prices={"scripted": {"input": 1.0, "output": 2.0, "cached_input": 0.5}},
         ).complete(ChatRequest.of("hi"), stage="draft", agent="writer")

    table, custom = records(ledger_path)
    assert table["cached_input_tokens"] == 400
    assert table["input_tokens"] == 1000  # all prompt tokens, cached included
    # gpt-4o-mini: 600 * 0.15 + 400 * 0.075 + 500 * 0.60 = 420 per 1M
    assert table["cost_usd"] == pytest.approx(0.00042, abs=1e-12)
    # 600 * 1.0 + 400 * 0.5 + 500 * 2.0 = 1800 per 1M
    assert custom["cost_usd"] == pytest.approx(0.0018, abs=1e-12)
    assert table["response_id"] == "resp-1"


def test_cost_follows_the_model_that_answered(ledger_path: Path) -> None:
    model = CachingModel("my-alias", response_model="gpt-4o-mini-2024-07-18")
    make(model, ledger_path).complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    [record] = records(ledger_path)
    assert (record["model"], record["response_model"]) == ("my-alias", "gpt-4o-mini-2024-07-18")
    assert record["cost_usd"] == pytest.approx(0.00042, abs=1e-12)


def test_token_budget_blocks_a_call_before_it_is_made(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue("never sent")
    metered = make(scripted_model, ledger_path, budget=Budget(tokens=50))
    with pytest.raises(BudgetExceeded, match=r"\[draft\].*token budget") as info:
        metered.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer")  # ~100 tokens
    assert info.value.spent_tokens == 0
    assert scripted_model.calls == []
    assert not ledger_path.exists()


def test_token_overspend_raises_after_the_record_is_written(scripted_model: ScriptedModel,
                                                            ledger_path: Path) -> None:
    scripted_model.enqueue("y" * 200, "never sent")
    metered = make(scripted_model, ledger_path, budget=Budget(tokens=120))
    with pytest.raises(BudgetExceeded, match="budget exceeded") as info:
        metered.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer")  # 100 in + 50 out
    assert info.value.spent_tokens == 150
    [record] = records(ledger_path)
    assert (record["status"], record["input_tokens"], record["output_tokens"]) == ("ok", 100, 50)

    with pytest.raises(BudgetExceeded):  # and the next call is stopped before it is made
        metered.complete(ChatRequest.of("x"), stage="draft", agent="writer")
    assert len(scripted_model.calls) == 1


def test_dollar_budget_blocks_before_and_after(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    blocked = make(ScriptedModel(["never sent"]), ledger_path, prices=SCRIPTED_PRICE, budget=Budget(usd=0.0001))
    with pytest.raises(BudgetExceeded, match="dollar budget"):
        blocked.complete(ChatRequest.of("x" * 800), stage="draft", agent="writer")  # ~$0.0002 of prompt
    assert not ledger_path.exists()

    scripted_model.enqueue("y" * 400)
    over = make(scripted_model, ledger_path, prices=SCRIPTED_PRICE, budget=Budget(usd=0.00015))
    with pytest.raises(BudgetExceeded, match="budget exceeded") as info:
        over.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer")  # $0.0001 in + $0.0002 out
    assert info.value.spent_usd == pytest.approx(0.0003)
    [record] = records(ledger_path)
    assert record["cost_usd"] == pytest.approx(0.0003)


def test_dollar_budget_cannot_stop_an_unpriced_model(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue("y" * 400)
    metered = make(scripted_model, ledger_path, budget=Budget(usd=0.0))
    assert metered.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer").text == "y" * 400


def test_totals_and_the_run_record(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue("a" * 40, ProviderError("flaky", retryable=True), "b" * 80, "c" * 8)
    metered = make(scripted_model, ledger_path, prices=SCRIPTED_PRICE)
    metered.complete(ChatRequest.of("x" * 400), stage="discover", agent="scout")  # 100 + 10
    metered.complete(ChatRequest.of("x" * 800), stage="draft", agent="writer")  # error, then 200 + 20
    metered.complete(ChatRequest.of("x" * 40), stage="draft", agent="writer")  # 10 + 2

    totals = metered.totals()
    assert (totals.total.llm_calls, totals.total.failed_calls) == (4, 1)
    assert (totals.total.input_tokens, totals.total.output_tokens) == (310, 32)
    assert totals.by_stage["discover"].total_tokens == 110
    assert totals.by_stage["draft"].llm_calls == 3

    run = metered.finish("published", topic="tides")
    assert records(ledger_path)[-1] == run
    assert (run["type"], run["execution_id"], run["status"], run["topic"]) == ("run", EXECUTION_ID,
                                                                               "published", "tides")
    assert (run["llm_calls"], run["failed_calls"]) == (4, 1)
    assert (run["input_tokens"], run["cached_input_tokens"], run["output_tokens"]) == (310, 0, 32)
    assert run["cost_usd"] == pytest.approx((310 * 1.0 + 32 * 2.0) / 1e6)
    assert set(run["by_stage"]) == {"discover", "draft"}
    assert run["by_stage"]["draft"]["input_tokens"] == 210
    assert run["by_stage"]["draft"]["failed_calls"] == 1
    calls_in_ledger = calls(ledger_path)
    assert sum(c["input_tokens"] for c in calls_in_ledger) == run["input_tokens"]


def test_run_cost_is_unknown_when_a_call_is_unpriced(metered: Metered, scripted_model: ScriptedModel) -> None:
    scripted_model.enqueue("ok")
    metered.complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    assert metered.finish("published")["cost_usd"] is None


def test_telemetry_off_meters_but_writes_nothing(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue("y" * 40)
    metered = Metered(scripted_model, RoiLedger(ledger_path, enabled=False), execution_id="quiet")
    metered.complete(ChatRequest.of("x" * 400), stage="draft", agent="writer")
    run = metered.finish("published")
    assert metered.totals().total.total_tokens == 110
    assert run["input_tokens"] == 100
    assert not ledger_path.exists()


def test_metered_never_wraps_metered(metered: Metered, ledger_path: Path) -> None:
    with pytest.raises(TypeError, match="never wrap"):
        Metered(metered, RoiLedger(ledger_path), execution_id="x")  # type: ignore[arg-type]


def test_secrets_never_reach_the_ledger_or_the_error(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    planted_key, explicit = "sk-abcdef1234567890", "hunter2-correct-horse"
    scripted_model.enqueue(
        ProviderError(f"401 for key {planted_key} and {explicit}", retryable=True),
        RuntimeError(f"Authorization: Bearer {explicit} rejected; api_key={planted_key}"),
    )
    metered = make(scripted_model, ledger_path, secrets=(explicit,))
    with pytest.raises(ProviderError) as info:
        metered.complete(ChatRequest.of("hi"), stage="draft", agent="writer")

    raw = ledger_path.read_text(encoding="utf-8")
    assert raw.count("\n") == 2
    for secret in (planted_key, explicit, "abcdef1234567890"):
        assert secret not in raw
        assert secret not in str(info.value)
    assert "[REDACTED]" in raw


def test_a_planted_secret_in_a_first_error_is_redacted_in_the_raised_error(
        scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue(ProviderError("bad key sk-abcdef1234567890"))
    with pytest.raises(ProviderError) as info:
        make(scripted_model, ledger_path).complete(ChatRequest.of("hi"), stage="draft", agent="writer")
    assert "sk-abcdef1234567890" not in str(info.value)
    assert str(info.value).startswith("[draft] ")


class Outline(BaseModel):
    title: str


def test_records_say_when_a_call_asked_for_structured_output(metered: Metered, scripted_model: ScriptedModel,
                                                             ledger_path: Path) -> None:
    scripted_model.enqueue('{"title": "t"}')
    metered.complete(ChatRequest.of("hi", output_type=Outline), stage="editorial", agent="editor")
    assert records(ledger_path)[0]["structured"] is True


def test_async_acomplete_meters_the_same_way(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    sleeps: list[float] = []
    scripted_model.enqueue(ProviderError("busy", retryable=True), "y" * 40, ValueError("boom"))
    metered = make(scripted_model, ledger_path, prices=SCRIPTED_PRICE, sleeps=sleeps)

    async def run() -> Completion:
        done = await metered.acomplete(ChatRequest.of("x" * 400), stage="draft", agent="writer")
        with pytest.raises(ProviderError, match=r"^\[review\] ValueError: boom"):
            await metered.acomplete(ChatRequest.of("x"), stage="review", agent="editor")
        return done

    completion = asyncio.run(run())
    assert completion.text == "y" * 40
    got = [(r["stage"], r["attempt"], r["status"], r["input_tokens"], r["output_tokens"])
           for r in records(ledger_path)]
    assert got == [("draft", 1, "error", 0, 0), ("draft", 2, "ok", 100, 10), ("review", 1, "error", 0, 0)]
    assert records(ledger_path)[1]["cost_usd"] == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)
    assert len(sleeps) == 1  # the injected sleep is used on the async path too


def test_async_budget_blocks_before_the_call(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    scripted_model.enqueue("never sent")
    metered = make(scripted_model, ledger_path, budget=Budget(tokens=10))
    with pytest.raises(BudgetExceeded):
        asyncio.run(metered.acomplete(ChatRequest.of("x" * 400), stage="draft", agent="writer"))
    assert scripted_model.calls == []
    assert not ledger_path.exists()


def test_concurrent_calls_from_threads_are_all_metered(ledger_path: Path) -> None:
    metered = make(ScriptedModel(default="y" * 8), ledger_path)

    def one(i: int) -> None:
        metered.complete(ChatRequest.of("x" * 40), stage=f"s{i % 4}", agent="writer")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(200)))
    totals = metered.totals()
    assert totals.total.llm_calls == 200
    assert totals.total.input_tokens == 2000
    assert sum(t.llm_calls for t in totals.by_stage.values()) == 200
    lines = ledger_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["status"] == "ok" for line in lines)


def test_backoff_grows_exponentially_with_jitter(scripted_model: ScriptedModel, ledger_path: Path) -> None:
    sleeps: list[float] = []
    scripted_model.enqueue(*[ProviderError("busy", retryable=True)] * 3, "ok")
    metered = Metered(scripted_model, RoiLedger(ledger_path), execution_id="e", max_retries=3,
                      sleep=sleeps.append, backoff=(0.5, 8.0))
    assert metered.complete(ChatRequest.of("hi"), stage="s", agent="a").text == "ok"
    assert len(sleeps) == 3
    for n, slept in enumerate(sleeps):
        assert 0.5 * 2**n <= slept <= 0.5 * 2**n + 1.0  # base doubles; jitter adds up to a second
