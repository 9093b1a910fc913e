from __future__ import annotations

import asyncio

import pytest

from newsroom.errors import ProviderError
from newsroom.llm.base import ChatModel, ChatRequest, Usage
from newsroom.llm.scripted import ScriptedModel


def test_replies_in_order_with_deterministic_usage() -> None:
    model = ScriptedModel(["first reply", "second"])
    one = model.complete(ChatRequest.of("x" * 100))
    two = model.complete(ChatRequest.of("hey", system="sys"))
    assert (one.text, two.text) == ("first reply", "second")
    assert one.usage == Usage(input_tokens=25, output_tokens=2)  # 100 chars / 4, 11 chars / 4
    assert two.usage == Usage(input_tokens=1, output_tokens=1)  # never below 1
    assert (one.model, one.finish_reason) == ("scripted", "stop")
    assert [c.reply for c in model.calls] == ["first reply", "second"]
    assert model.calls[1].request.messages[0].role == "system"


def test_is_a_chat_model_and_says_it_is_scripted() -> None:
    model = ScriptedModel(model_name="fake-gpt")
    assert isinstance(model, ChatModel)
    assert model.provider == "scripted"
    assert model.model_name == "fake-gpt"


def test_an_empty_queue_is_an_error_not_a_silent_reply() -> None:
    model = ScriptedModel(["only one"])
    model.complete(ChatRequest.of("a"))
    with pytest.raises(ProviderError, match="enqueue"):
        model.complete(ChatRequest.of("b"))


def test_default_answers_once_the_queue_is_empty() -> None:
    model = ScriptedModel(["queued"], default="fallback")
    assert [model.complete(ChatRequest.of("q")).text for _ in range(3)] == ["queued", "fallback", "fallback"]


def test_callable_replies_see_the_request() -> None:
    model = ScriptedModel([lambda req: req.messages[-1].content.upper()])
    assert model.complete(ChatRequest.of("shout")).text == "SHOUT"


def test_exception_replies_are_raised_and_recorded() -> None:
    error = ProviderError("overloaded", retryable=True)
    model = ScriptedModel([error, "after"])
    with pytest.raises(ProviderError) as info:
        model.complete(ChatRequest.of("a"))
    assert info.value is error
    assert model.complete(ChatRequest.of("b")).text == "after"
    assert [c.reply for c in model.calls] == [None, "after"]


def test_enqueue_appends() -> None:
    model = ScriptedModel(["a"])
    model.enqueue("b", "c")
    assert [model.complete(ChatRequest.of("q")).text for _ in range(3)] == ["a", "b", "c"]


def test_acomplete() -> None:
    model = ScriptedModel(["async reply"])
    completion = asyncio.run(model.acomplete(ChatRequest.of("q")))
    assert completion.text == "async reply"
