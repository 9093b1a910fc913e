"""newsroom: publication-quality articles from a metered pipeline of AI agents, offline by default.

The public API is imported lazily so that ``import newsroom`` (and ``newsroom --help``) stays fast:
crewAI, torch and chromadb load only when a run needs them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Settings": "newsroom.config",
    "RoiLedger": "newsroom.roi.ledger",
    "NewsroomError": "newsroom.errors",
    "ConfigError": "newsroom.errors",
    "ProviderError": "newsroom.errors",
    "BudgetExceeded": "newsroom.errors",
    "StageError": "newsroom.errors",
    "ScriptedModel": "newsroom.llm.scripted",
    "check_text": "newsroom.style.checker",
    "StyleMemory": "newsroom.style.memory",
    "generate_article": "newsroom.api",
    "agenerate_article": "newsroom.api",
    "discover_topics": "newsroom.api",
    "ArticleResult": "newsroom.api",
}

__all__ = sorted(_EXPORTS)

def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'newsroom' has no attribute {name!r}")
    return getattr(import_module(module), name)
