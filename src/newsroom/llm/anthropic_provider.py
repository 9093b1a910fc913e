"""Anthropic messages through the anthropic SDK. Structured output uses a forced tool call."""

from __future__ import annotations

import json
from typing import Any

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage, map_sdk_error
from newsroom.llm.schema import strict_schema

TOOL_NAME = "respond"


class AnthropicChatModel(ChatModel):
    provider = "anthropic"

    def __init__(self, model_name: str, *, api_key: str, base_url: str | None = None,
                 timeout_s: float = 120.0) -> None:
        import anthropic

        self.model_name = model_name
        kwargs: dict[str, Any] = {"api_key": api_key, "base_url": base_url, "timeout": timeout_s,
                                  "max_retries": 0}
        self._client = anthropic.Anthropic(**kwargs)
        _ = self._client.messages  # loaded now, not between a rate-limit slot and the send (openai_provider)
        self._kwargs = kwargs
        self._async_client: Any = None  # made on the first async call: a sync run never opens one

    def _aclient(self) -> Any:
        if self._async_client is None:
            import anthropic

            self._async_client = anthropic.AsyncAnthropic(**self._kwargs)
        return self._async_client

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content}
                         for m in request.messages if m.role != "system"],
        }
        if system:
            params["system"] = system
        if request.temperature is not None:
            # anthropic 1.0 dropped the temperature argument from messages.create (the API still
            # takes it for models that sample); its migration guide sends it in the body instead.
            params["extra_body"] = {"temperature": request.temperature}
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.output_type is not None:
            params["tools"] = [{"name": TOOL_NAME, "description": "Return the answer.",
                                "input_schema": strict_schema(request.output_type)}]
            params["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
        return params

    def complete(self, request: ChatRequest) -> Completion:
        try:
            resp = self._client.messages.create(**self._params(request))
        except Exception as exc:
            raise map_anthropic_error(exc) from exc
        return self._to_completion(resp)

    async def acomplete(self, request: ChatRequest) -> Completion:
        try:
            resp = await self._aclient().messages.create(**self._params(request))
        except Exception as exc:
            raise map_anthropic_error(exc) from exc
        return self._to_completion(resp)

    def _to_completion(self, resp: Any) -> Completion:
        parts: list[str] = []
        for block in resp.content or []:
            if block.type == "text":
                parts.append(block.text)
            elif block.type == "tool_use":
                parts.append(json.dumps(block.input))
        u = resp.usage
        cache_read = getattr(u, "cache_read_input_tokens", None) or 0
        cache_write = getattr(u, "cache_creation_input_tokens", None) or 0
        # Anthropic's input_tokens excludes cached tokens; the ledger counts every prompt token.
        usage = Usage(input_tokens=u.input_tokens + cache_read + cache_write,
                      cached_input_tokens=cache_read, output_tokens=u.output_tokens)
        return Completion(text="".join(parts), usage=usage, model=resp.model or self.model_name,
                          finish_reason=resp.stop_reason, response_id=resp.id, raw=resp)

    def close(self) -> None:
        self._client.close()


def map_anthropic_error(exc: Exception) -> ProviderError:
    """Classify an anthropic SDK exception: transient faults are retryable, the rest are not."""
    import anthropic

    return map_sdk_error(exc, "anthropic", anthropic)
