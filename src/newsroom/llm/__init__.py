"""The model seam: providers, the metered wrapper, structured output and the crewAI adapter.

Imported lazily, so that ``newsroom models`` and ``newsroom --help`` do not load the SDKs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ChatModel": "newsroom.llm.base", "ChatRequest": "newsroom.llm.base", "Completion": "newsroom.llm.base",
    "Message": "newsroom.llm.base", "Usage": "newsroom.llm.base", "Budget": "newsroom.llm.metered",
    "Metered": "newsroom.llm.metered", "ScriptedModel": "newsroom.llm.scripted",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'newsroom.llm' has no attribute {name!r}")
    return getattr(import_module(module), name)
