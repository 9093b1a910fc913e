"""crewAI, switched off from phoning home, and the ``BaseLLM`` adapter that routes it through Metered.

Import crewAI only through ``load_crewai()``: the environment switches must be set before crewAI
is first imported, or it starts telemetry, tracing and a version check over the network.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from newsroom.llm.base import ChatRequest, Message
from newsroom.llm.metered import Metered
from newsroom.llm.structured import complete_structured

_QUIET_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
}
# Everything that keeps newsroom's dependencies off the network, for tests and benchmarks to set.
OFFLINE_ENV = {**_QUIET_ENV, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@cache
def load_crewai() -> ModuleType:
    """Import crewAI with telemetry, tracing and the version check off, and its console quiet."""
    os.environ.update(_QUIET_ENV)
    import crewai

    return crewai


@cache
def wrapper_text() -> tuple[str, ...]:
    """The fixed text crewAI wraps around every task prompt (its role, task and output slices)."""
    load_crewai()
    from crewai.utilities.i18n import I18N_DEFAULT

    from newsroom.style.prompts import literals

    return tuple(t for name in ("role_playing", "task_no_tools", "expected_output")
                 for t in literals(I18N_DEFAULT.slice(name)))


def quiet_console() -> None:
    """Stop crewAI's rich panels in the current context: stdout belongs to our caller."""
    load_crewai()
    from crewai.events.utils.console_formatter import set_suppress_console_output

    set_suppress_console_output(True)


def _llm_base() -> type:
    load_crewai()
    from crewai.llms.base_llm import BaseLLM

    return BaseLLM


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # multi-part content: keep the text parts
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in value)
    return "" if value is None else str(value)


def to_request(messages: str | list[dict[str, Any]], *, max_tokens: int, temperature: float | None,
               stop: list[str], seed: int | None = None) -> ChatRequest:
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    converted = []
    for m in messages:
        role = m.get("role", "user")
        converted.append(Message(role if role in ("system", "user", "assistant") else "user",
                                 _content(m.get("content"))))
    return ChatRequest(messages=tuple(converted), max_tokens=max_tokens, temperature=temperature,
                       stop=tuple(stop), seed=seed)


def make_llm(metered: Metered, *, stage: str, max_tokens: int = 512,
             temperature: float | None = None, seed: int | None = None) -> Any:
    """A crewAI LLM for one stage; every call it makes goes through ``metered``. ``seed`` is passed
    to the provider (a writer retrying a degenerate section asks for another draw)."""
    return _adapter_class()(model=metered.model.model_name, metered=metered, stage=stage,
                            max_tokens=max_tokens, temperature=temperature, seed=seed,
                            provider=metered.model.provider)


@cache
def _adapter_class() -> type:
    base = _llm_base()
    from crewai.events.types.llm_events import LLMCallType
    from crewai.llms.base_llm import llm_call_context

    def _call(self: Any, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: type[BaseModel] | None = None) -> Any:
        with llm_call_context():
            self._emit_call_started_event(messages=messages, tools=tools, callbacks=callbacks,
                                          available_functions=available_functions,
                                          from_task=from_task, from_agent=from_agent)
            agent = getattr(from_agent, "role", None) or "agent"
            request = to_request(messages, max_tokens=int(self.max_tokens or 512),
                                 temperature=self.temperature, stop=list(self.stop_sequences or []),
                                 seed=self.seed)
            model = response_model or getattr(self, "response_format", None)
            try:
                if isinstance(model, type) and issubclass(model, BaseModel):
                    result, completion = complete_structured(self.metered, request, model,
                                                             stage=self.stage, agent=agent)
                    response: Any = result
                    text = result.model_dump_json()
                else:
                    completion = self.metered.complete(request, stage=self.stage, agent=agent)
                    text = response = self._apply_stop_words(completion.text)
                self.last_completion = completion
            except Exception as exc:
                self._emit_call_failed_event(error=str(exc), from_task=from_task, from_agent=from_agent)
                raise
            usage = {"prompt_tokens": completion.usage.input_tokens,
                     "completion_tokens": completion.usage.output_tokens,
                     "total_tokens": completion.usage.total_tokens,
                     "cached_prompt_tokens": completion.usage.cached_input_tokens}
            self._track_token_usage_internal(usage)
            self._emit_call_completed_event(response=text, call_type=LLMCallType.LLM_CALL,
                                            from_task=from_task, from_agent=from_agent,
                                            messages=messages, usage=usage,
                                            finish_reason=completion.finish_reason,
                                            response_id=completion.response_id)
            return response

    # Metered owns retries (one ledger record per attempt); crewAI must not retry on top of it.
    _call._crewai_rate_limit_wrapped = True  # type: ignore[attr-defined]

    class MeteredCrewLLM(base):  # type: ignore[misc, valid-type]
        """A crewAI ``BaseLLM`` that delegates every call to ``Metered``."""

        model_config = ConfigDict(arbitrary_types_allowed=True)
        llm_type: str = "newsroom"
        metered: Any = Field(exclude=True)
        stage: str
        seed: int | None = None
        last_completion: Any = Field(default=None, exclude=True)  # the finish reason, for the writer
        call = _call

        def supports_function_calling(self) -> bool:
            return False

        def supports_stop_words(self) -> bool:
            return True

        def get_context_window_size(self) -> int:
            return 8192

        def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
            # crewAI's own estimate logs a warning per call; ours is the same estimate, quietly.
            return to_request(messages, max_tokens=1, temperature=None, stop=[]).prompt_chars() // 4

    return MeteredCrewLLM
