"""``Metered``: the only path for every LLM call. It delegates, retries, records and enforces budgets.

One ledger record per attempt (``attempt`` counts from 1), tagged explicitly by the caller with
its stage and agent. Token counts are the provider's; cost comes from the price book and is
``None`` when the model is unknown. Budgets are checked before a call (from an estimate of the
prompt) and after it (from the provider's usage).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tenacity import RetryCallState, wait_exponential_jitter

from newsroom.errors import BudgetExceeded, ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage
from newsroom.llm.ratelimit import RateLimiter
from newsroom.llm.replay import Replay, to_payload
from newsroom.roi.prices import PriceBook
from newsroom.roi.records import call_record, redact, run_record

CHARS_PER_TOKEN = 4  # a conservative prompt estimate for the pre-call budget check


class Ledger(Protocol):
    """Where records go: ``roi.db_ledger.DbLedger`` (the database, mirrored to JSONL) or a JSONL file."""

    def append(self, record: dict[str, Any], response: dict[str, Any] | None = None) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Budget:
    usd: float | None = None
    tokens: int | None = None


@dataclass
class StageTotals:
    llm_calls: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    llm_seconds: float = 0.0

    def add(self, usage: Usage, cost: float | None, seconds: float, ok: bool) -> None:
        self.llm_calls += 1
        self.failed_calls += 0 if ok else 1
        self.input_tokens += usage.input_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.output_tokens += usage.output_tokens
        # One call of unknown price makes the sum unknown: a partial sum would understate it.
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost
        self.llm_seconds += seconds

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {"llm_calls": self.llm_calls, "failed_calls": self.failed_calls,
                "input_tokens": self.input_tokens, "cached_input_tokens": self.cached_input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 8),
                "llm_seconds": round(self.llm_seconds, 3)}


@dataclass
class RunTotals:
    total: StageTotals = field(default_factory=StageTotals)
    by_stage: dict[str, StageTotals] = field(default_factory=dict)


class Metered:
    """Wraps one ``ChatModel`` for one run (``execution_id``). Build it with ``llm.factory``."""

    def __init__(self, model: ChatModel, ledger: Ledger, *, execution_id: str,
                 prices: PriceBook | None = None, budget: Budget | None = None, max_retries: int = 3,
                 secrets: tuple[str, ...] = (), sleep: Callable[[float], Any] = time.sleep,
                 backoff: tuple[float, float] = (0.5, 8.0), limiter: RateLimiter | None = None,
                 replay: Replay | None = None) -> None:
        if isinstance(model, Metered):
            raise TypeError("Metered must never wrap another Metered")
        self.model = model
        self.ledger = ledger
        self.execution_id = execution_id
        self.prices = prices or PriceBook()
        self.budget = budget or Budget()
        self.max_retries = max_retries
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)  # what redact() can find
        self._sleep = sleep
        self._wait = wait_exponential_jitter(multiplier=backoff[0], max=backoff[1])
        self.limiter = limiter
        self.replay = replay
        self._lock = threading.Lock()
        self._totals = RunTotals()
        self.started = time.perf_counter()

    # -- budget ---------------------------------------------------------------------------
    def _check_before(self, request: ChatRequest, stage: str) -> None:
        estimate = Usage(input_tokens=request.prompt_chars() // CHARS_PER_TOKEN)
        with self._lock:
            spent = self._totals.total
            if self.budget.tokens is not None and spent.total_tokens + estimate.input_tokens > self.budget.tokens:
                raise BudgetExceeded(
                    f"[{stage}] the next call (~{estimate.input_tokens} prompt tokens) would pass the token "
                    f"budget ({spent.total_tokens} of {self.budget.tokens} spent); raise --budget-tokens",
                    spent_tokens=spent.total_tokens, spent_usd=spent.cost_usd)
            cost = self.prices.cost(self.model.model_name, estimate)
            if self.budget.usd is not None and cost is not None and spent.cost_usd is not None \
                    and spent.cost_usd + cost > self.budget.usd:
                raise BudgetExceeded(
                    f"[{stage}] the next call (~${cost:.6f}) would pass the dollar budget "
                    f"(${spent.cost_usd:.6f} of ${self.budget.usd} spent); raise --budget-usd",
                    spent_tokens=spent.total_tokens, spent_usd=spent.cost_usd)

    def _check_after(self, stage: str) -> None:
        with self._lock:
            spent = self._totals.total
            over_tokens = self.budget.tokens is not None and spent.total_tokens > self.budget.tokens
            over_usd = (self.budget.usd is not None and spent.cost_usd is not None
                        and spent.cost_usd > self.budget.usd)
        if over_tokens or over_usd:
            what = (f"{spent.total_tokens} tokens of {self.budget.tokens}" if over_tokens
                    else f"${spent.cost_usd:.6f} of ${self.budget.usd}")
            raise BudgetExceeded(f"[{stage}] budget exceeded: spent {what}",
                                 spent_tokens=spent.total_tokens, spent_usd=spent.cost_usd)

    # -- recording ------------------------------------------------------------------------
    def _record(self, *, stage: str, agent: str, attempt: int, seconds: float, request: ChatRequest,
                completion: Completion | None = None, error: Exception | None = None, key: str | None = None) -> None:
        usage = completion.usage if completion else Usage()
        response_model = completion.model if completion else None
        cost = self.prices.cost(response_model or self.model.model_name, usage)
        with self._lock:
            for totals in (self._totals.total, self._totals.by_stage.setdefault(stage, StageTotals())):
                totals.add(usage, cost, seconds, ok=error is None)
        record = call_record(
            execution_id=self.execution_id, stage=stage, agent=agent, provider=self.model.provider,
            model=self.model.model_name, response_model=response_model,
            input_tokens=usage.input_tokens, cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens, duration_ms=round(seconds * 1000, 3), cost_usd=cost,
            status="ok" if error is None else "error", attempt=attempt,
            finish_reason=completion.finish_reason if completion else None,
            response_id=completion.response_id if completion else None,
            max_tokens=request.max_tokens, structured=request.output_type is not None, call_key=key,
        )
        if error is not None:
            record["error_type"] = type(error).__name__
            record["error"] = redact(str(error), self.secrets)[:500]
        self.ledger.append(record, response=to_payload(completion) if completion is not None and key else None)

    def _redacted(self, completion: Completion) -> Completion:
        """The completion with every configured key removed from what the model supplied.

        A hostile or compromised provider can echo the key into the reply, the model name or the
        response id; all of them flow on into the article, the run's recorded state and the ledger. When a
        key is found, ``raw`` (the SDK's response, which still holds it) is dropped.
        """
        if not self.secrets:
            return completion
        supplied = (completion.text, completion.model, completion.response_id, completion.finish_reason)
        if not any(value and secret in value for value in supplied for secret in self.secrets):
            return completion

        def scrub(value: str | None) -> str | None:
            return None if value is None else redact(value, self.secrets, patterns=False)

        return Completion(text=scrub(completion.text) or "", usage=completion.usage,
                          model=scrub(completion.model) or "", finish_reason=scrub(completion.finish_reason),
                          response_id=scrub(completion.response_id))

    def _backoff_s(self, failed_attempts: int) -> float:
        """Exponential back-off with jitter (tenacity's strategy) after ``failed_attempts`` failures."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = failed_attempts
        return float(self._wait(state))

    async def _async_sleep(self, seconds: float) -> None:
        # An injected sleep (tests) is honoured here too; the default never blocks the event loop.
        if self._sleep is time.sleep:
            await asyncio.sleep(seconds)
        elif inspect.isawaitable(result := self._sleep(seconds)):
            await result

    def _fail(self, exc: Exception, *, stage: str, agent: str, attempt: int, started: float,
              request: ChatRequest, key: str | None) -> ProviderError:
        self._record(stage=stage, agent=agent, attempt=attempt, seconds=time.perf_counter() - started,
                     request=request, error=exc, key=key)
        return _as_provider_error(exc, stage, self.secrets)

    def _attempt(self, request: ChatRequest, stage: str, agent: str, attempt: int,
                 key: str | None = None) -> Completion:
        if self.limiter is not None:
            self.limiter.acquire(request.prompt_chars() // CHARS_PER_TOKEN)
        started = time.perf_counter()
        try:
            completion = self.model.complete(request)
        except Exception as exc:
            raise self._fail(exc, stage=stage, agent=agent, attempt=attempt, started=started,
                             request=request, key=key) from exc
        completion = self._redacted(completion)
        self._record(stage=stage, agent=agent, attempt=attempt, seconds=time.perf_counter() - started,
                     request=request, completion=completion, key=key)
        return completion

    async def _aattempt(self, request: ChatRequest, stage: str, agent: str, attempt: int,
                 key: str | None = None) -> Completion:
        if self.limiter is not None:
            await asyncio.to_thread(self.limiter.acquire, request.prompt_chars() // CHARS_PER_TOKEN)
        started = time.perf_counter()
        try:
            completion = await self.model.acomplete(request)
        except Exception as exc:
            raise self._fail(exc, stage=stage, agent=agent, attempt=attempt, started=started,
                             request=request, key=key) from exc
        completion = self._redacted(completion)
        self._record(stage=stage, agent=agent, attempt=attempt, seconds=time.perf_counter() - started,
                     request=request, completion=completion, key=key)
        return completion

    # -- calls ----------------------------------------------------------------------------
    # Attempt n+1 follows a retryable failure of attempt n after a back-off; a non-retryable error,
    # or the last allowed attempt, raises. The common path (attempt 1 succeeds) costs no retry
    # machinery at all.
    def _replayed(self, request: ChatRequest, stage: str) -> tuple[str | None, Completion | None]:
        """The call's key, and its recorded response when a re-executed step asks it again."""
        if self.replay is None:
            return None, None
        key = self.replay.key(request, stage)
        return key, self.replay.lookup(key)

    def complete(self, request: ChatRequest, *, stage: str, agent: str) -> Completion:
        """Make one metered call (with retries) on behalf of ``agent`` in ``stage``; a call the ledger
        already answered (a step re-run after a crash) replays, unpaid and unrecorded."""
        key, replayed = self._replayed(request, stage)
        if replayed is not None:
            return replayed
        self._check_before(request, stage)
        attempt = 1
        while True:
            try:
                completion = self._attempt(request, stage, agent, attempt, key)
                break
            except ProviderError as exc:
                if not exc.retryable or attempt > self.max_retries:
                    raise
            self._sleep(self._backoff_s(attempt))
            attempt += 1
        self._check_after(stage)
        return completion

    async def acomplete(self, request: ChatRequest, *, stage: str, agent: str) -> Completion:
        key, replayed = self._replayed(request, stage)
        if replayed is not None:
            return replayed
        self._check_before(request, stage)
        attempt = 1
        while True:
            try:
                completion = await self._aattempt(request, stage, agent, attempt, key)
                break
            except ProviderError as exc:
                if not exc.retryable or attempt > self.max_retries:
                    raise
            await self._async_sleep(self._backoff_s(attempt))
            attempt += 1
        self._check_after(stage)
        return completion

    # -- run summary ----------------------------------------------------------------------
    def absorb(self, records: list[dict[str, Any]]) -> int:
        """Count earlier call records of this execution (a resumed run) into the totals and budgets."""
        mine = [r for r in records if r.get("type") == "llm_call" and r.get("execution_id") == self.execution_id]
        with self._lock:
            for r in mine:
                usage = Usage(int(r.get("input_tokens") or 0), int(r.get("cached_input_tokens") or 0),
                              int(r.get("output_tokens") or 0))
                seconds = float(r.get("duration_ms") or 0) / 1000
                stage = self._totals.by_stage.setdefault(str(r.get("stage")), StageTotals())
                for totals in (self._totals.total, stage):
                    totals.add(usage, r.get("cost_usd"), seconds, ok=r.get("status") == "ok")
        return len(mine)

    def totals(self) -> RunTotals:
        with self._lock:
            return RunTotals(
                total=StageTotals(**vars(self._totals.total)),
                by_stage={k: StageTotals(**vars(v)) for k, v in self._totals.by_stage.items()},
            )

    def close(self) -> None:
        """Release what this run holds: the ledger's descriptor and the provider's connections."""
        self.ledger.close()
        self.model.close()

    def finish(self, status: str, **extra: Any) -> dict[str, Any]:
        """Append the run-summary record and return it."""
        totals = self.totals()
        record = run_record(
            execution_id=self.execution_id, status=status, provider=self.model.provider,
            model=self.model.model_name, duration_s=round(time.perf_counter() - self.started, 3),
            **totals.total.as_dict(), by_stage={k: v.as_dict() for k, v in totals.by_stage.items()},
            **extra,
        )
        self.ledger.append(record)
        return record


def _as_provider_error(exc: Exception, stage: str, secrets: tuple[str, ...]) -> ProviderError:
    if isinstance(exc, ProviderError):
        message = redact(str(exc.args[0]) if exc.args else "", secrets)
        if exc.stage is None:
            exc.stage = stage
            message = f"[{stage}] {message}"
        exc.args = (message,)
        return exc
    return ProviderError(redact(f"{type(exc).__name__}: {exc}", secrets), stage=stage)
