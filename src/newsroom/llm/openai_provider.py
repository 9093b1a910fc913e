"""OpenAI chat completions through the openai SDK (also the client of the local llama.cpp server)."""

from __future__ import annotations

from typing import Any

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Completion, Usage, map_sdk_error
from newsroom.llm.schema import strict_schema


class OpenAIChatModel(ChatModel):
    provider = "openai"

    def __init__(self, model_name: str, *, api_key: str, base_url: str | None = None,
                 timeout_s: float = 120.0, provider: str = "openai") -> None:
        import openai

        self.model_name = model_name
        self.provider = provider
        # Retries are ours (one ledger record per attempt), so the SDK must not retry silently.
        kwargs: dict[str, Any] = {"api_key": api_key, "base_url": base_url, "timeout": timeout_s,
                                  "max_retries": 0}
        self._client = openai.OpenAI(**kwargs)
        # The SDK loads its resources on first use (0.4-0.8 s on 2 busy cores). Done here, not in the
        # first call: there it fell between taking a rate-limit slot and sending, so that call reached
        # the provider late and bunched up with the next ones (more than the limit in one second).
        _ = self._client.chat.completions
        self._kwargs = kwargs
        self._async_client: Any = None  # made on the first async call: a sync run never opens one

    def _aclient(self) -> Any:
        if self._async_client is None:
            import openai

            self._async_client = openai.AsyncOpenAI(**self._kwargs)
        return self._async_client

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = list(request.stop)[:4]
        if request.seed is not None:
            params["seed"] = request.seed
        extra = self._extra_body(request)
        if extra:
            params["extra_body"] = extra
        if request.output_type is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.output_type.__name__,
                                "schema": strict_schema(request.output_type), "strict": True},
            }
        return params

    def _extra_body(self, request: ChatRequest) -> dict[str, Any]:
        """Server-specific sampling fields for this request (the local llama.cpp server sets some)."""
        return {}

    def complete(self, request: ChatRequest) -> Completion:
        try:
            resp = self._client.chat.completions.create(**self._params(request))
        except Exception as exc:
            raise map_openai_error(exc, self.provider) from exc
        return self._to_completion(resp)

    async def acomplete(self, request: ChatRequest) -> Completion:
        try:
            resp = await self._aclient().chat.completions.create(**self._params(request))
        except Exception as exc:
            raise map_openai_error(exc, self.provider) from exc
        return self._to_completion(resp)

    def _to_completion(self, resp: Any) -> Completion:
        if not getattr(resp, "choices", None):
            raise ProviderError(f"{self.provider} returned no choices", retryable=True)
        usage = resp.usage
        if usage is None:
            raise ProviderError(f"{self.provider} returned no usage; cannot meter this call")
        details = getattr(usage, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
        choice = resp.choices[0]
        return Completion(
            text=choice.message.content or "",
            usage=Usage(input_tokens=usage.prompt_tokens, cached_input_tokens=cached,
                        output_tokens=usage.completion_tokens),
            model=resp.model or self.model_name,
            finish_reason=choice.finish_reason,
            response_id=resp.id,
            raw=resp,
        )

    def close(self) -> None:
        self._client.close()


def map_openai_error(exc: Exception, provider: str) -> ProviderError:
    """Classify an openai SDK exception: transient faults are retryable, the rest are not."""
    import openai

    return map_sdk_error(exc, provider, openai)
