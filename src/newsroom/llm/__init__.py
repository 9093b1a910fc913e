"""The model seam: providers, the metered wrapper, structured output and the crewAI adapter."""

from newsroom.llm.base import ChatModel, ChatRequest, Completion, Message, Usage
from newsroom.llm.metered import Budget, Metered
from newsroom.llm.scripted import ScriptedModel

__all__ = ["Budget", "ChatModel", "ChatRequest", "Completion", "Message", "Metered", "ScriptedModel",
           "Usage"]
