"""Fixtures for the style tests. The style-memory ones are prefixed ``mem_``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

MEM_RULES = {
    "opening.yaml": [
        {"id": "opening-fast-paced", "category": "opening", "severity": "high", "kind": "existence",
         "description": "Throat-clearing openings about how fast the world is changing.",
         "suggestion": "Start with the news or the most concrete fact.",
         "patterns": ["in today's fast-paced world"],
         "examples": ["In today's fast-paced world, everyone needs a smartphone."]},
    ],
    "cliche.yaml": [
        {"id": "cliche-game-changer", "category": "cliche", "severity": "medium", "kind": "existence",
         "description": "Business clichés such as game-changer and paradigm shift.",
         "suggestion": "Say what changed, in plain words.", "patterns": ["game-changer", "paradigm shift"],
         "examples": ["The new battery is a real game-changer for the industry."]},
    ],
    "hedging.yaml": [
        {"id": "hedging-arguably", "category": "hedging", "severity": "low", "kind": "existence",
         "description": "Hedges that weaken a claim: arguably, perhaps, it could be said.",
         "suggestion": "Commit to the claim or cut it.", "patterns": ["arguably", "it could be said"],
         "examples": ["It could be said that the plan is arguably somewhat risky."]},
    ],
    "closing.yaml": [
        {"id": "closing-in-conclusion", "category": "closing", "severity": "medium", "kind": "existence",
         "description": "Endings that announce a conclusion or only summarise.",
         "suggestion": "End on a new fact or a consequence.", "patterns": ["in conclusion"],
         "scope": "last_paragraph", "examples": ["In conclusion, only time will tell."]},
    ],
    "attribution.yaml": [
        {"id": "attribution-experts-say", "category": "attribution", "severity": "high", "kind": "existence",
         "description": "Vague attribution to unnamed experts or studies.",
         "suggestion": "Name the source and link it.", "patterns": ["experts say", "studies show"],
         "examples": ["Experts say the market will double."]},
    ],
    "spelling.yaml": [
        {"id": "spelling-british", "category": "spelling", "severity": "low", "kind": "substitution",
         "description": "American spellings where house style is British.",
         "suggestion": "Use the British spelling.", "swap": {"color": "colour", "organize": "organise"},
         "examples": ["We will organize the color scheme."]},
    ],
    "punctuation.yaml": [
        {"id": "punctuation-exclamation", "category": "punctuation", "severity": "low", "kind": "existence",
         "description": "Exclamation marks in running text.", "suggestion": "Use a full stop.",
         "patterns": ["!"], "examples": ["The results were amazing!"]},
    ],
    "placeholder.yaml": [
        {"id": "placeholder-todo", "category": "placeholder", "severity": "critical", "kind": "existence",
         "description": "Leftover TODO notes and template brackets.",
         "suggestion": "Fill in the missing text.", "patterns": ["TODO", "[NEEDS SOURCE]"],
         "examples": ["TODO: add the quote from the minister."]},
    ],
    "meta.yaml": [
        {"id": "meta-this-article", "category": "meta", "severity": "medium", "kind": "existence",
         "description": "Commentary about the article itself.",
         "suggestion": "Write about the subject, not the article.", "patterns": ["in this article"],
         "examples": ["In this article we will explore the topic."]},
    ],
    "structure.yaml": [
        {"id": "structure-length", "category": "structure", "severity": "medium", "kind": "check",
         "description": "Articles must be between 600 and 1500 words.", "suggestion": "Cut or expand.",
         "check": "word_count", "params": {"min": 600, "max": 1500}, "fragment": False},
    ],
    "front_matter.yaml": [
        {"id": "front-matter-title", "category": "front_matter", "severity": "critical", "kind": "check",
         "description": "Front matter must hold a title, a date and tags.",
         "suggestion": "Add the missing front matter field.", "check": "front_matter", "fragment": False},
    ],
}
MEM_EXEMPLARS = {
    "openings.yaml": [
        {"id": "ex-opening-news", "category": "opening", "title": "Lead with the news",
         "text": "The city council voted on Tuesday to close the last coal plant by 2030, three years early."},
    ],
    "closings.yaml": [
        {"id": "ex-closing-consequence", "category": "closing", "title": "End on a consequence",
         "text": "If the plant closes on schedule, the city will lose its largest single source of soot."},
    ],
}


def mem_write_pack(root: Path, rules: dict[str, list[dict]] | None = None,
                   exemplars: dict[str, list[dict]] | None = None) -> Path:
    """Write a pack (default: the small test pack) under ``root`` and return ``root``."""
    for sub, files in (("rules", rules or MEM_RULES), ("exemplars", exemplars or MEM_EXEMPLARS)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name, entries in files.items():
            (root / sub / name).write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return root


class MemFakeEmbedder:
    """A fast, deterministic bag-of-words embedder (64 hashed dimensions) that counts its work."""

    name = "fake-bow-64"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.texts_embedded = 0
        self.delay_s = delay_s

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import time

        time.sleep(self.delay_s)
        self.texts_embedded += len(texts)
        return [self._one(t) for t in texts]

    @staticmethod
    def _one(text: str) -> list[float]:
        vec = [0.0] * 64
        for word in re.findall(r"[a-z']+", text.lower()):
            vec[int(hashlib.sha1(word.encode()).hexdigest(), 16) % 64] += 1.0
        norm = sum(x * x for x in vec) ** 0.5 or 1.0
        return [x / norm if norm else 0.0 for x in vec] if any(vec) else [1.0] + [0.0] * 63


@pytest.fixture
def mem_pack_dir(tmp_path: Path) -> Path:
    """A small valid pack: one rule per category and two exemplars."""
    return mem_write_pack(tmp_path / "knowledge")


@pytest.fixture
def mem_fake_embedder() -> Callable[..., MemFakeEmbedder]:
    """A factory of fake embedders (so tests need not load sentence-transformers)."""
    return MemFakeEmbedder


@pytest.fixture
def mem_pack_writer() -> Callable[..., Path]:
    """``mem_write_pack(root, rules=None, exemplars=None)``: write a pack; defaults to the test pack."""
    return mem_write_pack


@pytest.fixture
def mem_rules() -> dict[str, list[dict]]:
    """A deep copy of the test pack's rules, by file name, to edit and re-write."""
    import copy

    return copy.deepcopy(MEM_RULES)
