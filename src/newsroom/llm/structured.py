"""Structured output: ask for a pydantic model, validate, repair once, then fail naming the stage."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest, Completion, Message
from newsroom.llm.metered import Metered

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_output(text: str, output_type: type[T]) -> T:
    """Validate model text into ``output_type``; tolerate a code fence or prose around the object."""
    cleaned = _FENCE.sub("", text.strip())
    try:
        return output_type.model_validate_json(cleaned)
    except ValidationError:
        start, end = cleaned.find("{"), cleaned.rfind("}")
        if start == -1 or end <= start:
            raise
        return output_type.model_validate(json.loads(cleaned[start : end + 1]))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors()[:3]
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in errs)
    return str(exc)[:300]


def _repair_request(request: ChatRequest, bad: Completion, exc: Exception) -> ChatRequest:
    note = (f"Your reply was not valid JSON for the required schema ({_describe(exc)}). "
            "Reply again with only the corrected JSON object.")
    messages = request.messages + (Message("assistant", bad.text[:4000]), Message("user", note))
    return replace(request, messages=messages)


def complete_structured(metered: Metered, request: ChatRequest, output_type: type[T], *,
                        stage: str, agent: str) -> tuple[T, Completion]:
    """One call for ``output_type``; on invalid output one repair call, then ``ProviderError``."""
    request = replace(request, output_type=output_type)
    completion = metered.complete(request, stage=stage, agent=agent)
    try:
        return parse_output(completion.text, output_type), completion
    except (ValidationError, ValueError) as first:
        repaired = metered.complete(_repair_request(request, completion, first), stage=stage, agent=agent)
        try:
            return parse_output(repaired.text, output_type), repaired
        except (ValidationError, ValueError) as second:
            raise ProviderError(
                f"the model returned invalid {output_type.__name__} twice ({_describe(second)})",
                stage=stage) from second


async def acomplete_structured(metered: Metered, request: ChatRequest, output_type: type[T], *,
                               stage: str, agent: str) -> tuple[T, Completion]:
    request = replace(request, output_type=output_type)
    completion = await metered.acomplete(request, stage=stage, agent=agent)
    try:
        return parse_output(completion.text, output_type), completion
    except (ValidationError, ValueError) as first:
        repaired = await metered.acomplete(_repair_request(request, completion, first),
                                           stage=stage, agent=agent)
        try:
            return parse_output(repaired.text, output_type), repaired
        except (ValidationError, ValueError) as second:
            raise ProviderError(
                f"the model returned invalid {output_type.__name__} twice ({_describe(second)})",
                stage=stage) from second
