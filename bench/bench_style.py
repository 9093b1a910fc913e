"""2. Style memory: ``StyleMemory.query`` against a bare chromadb ``collection.query`` on the same data.

Search time is timed apart from embedding: every text (stored documents and queries) is embedded
once with the product's embedder (all-MiniLM-L6-v2, ``MiniLMEmbedder``), and ``StyleMemory`` gets
an embedder that returns those vectors from a dict, so ``StyleMemory.query`` and the bare
``collection.query`` search with identical vectors on the very same Chroma collection. Embedding is
then timed on its own, and once more inside a full ``query`` with the real embedder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench_common import WorkerContext, log, median, metric, percentile
from bench_synthetic import query_sentences, synthetic_exemplars

P95_TARGET_MS = 30.0
OVERHEAD_TARGET_PCT = 10.0
TARGET_SIZE = 10_000
# (k, kinds): the writer's rule lookup (generate stage) and `newsroom style query`'s default
SHAPES = {"k=4, kinds=[rule]": (4, ("rule",)), "k=5, no filter": (5, None)}
INCLUDE = ["metadatas", "distances"]


class CachingEmbedder:
    """The real embedder behind a dict: each distinct text is embedded once, then looked up."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name  # the same name, so StyleMemory.index keeps the stored vectors
        self.vectors: dict[str, list[float]] = {}
        self.misses = 0

    def prefill(self, texts: Sequence[str]) -> int:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        self.vectors.update(zip(missing, self.inner.embed(missing), strict=True))
        self.misses += len(missing)
        return len(missing)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.prefill(texts)
        return [self.vectors[t] for t in texts]


def _ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _time_shape(mem: Any, col: Any, vectors: dict[str, list[float]], queries: list[str],
                k: int, kinds: tuple[str, ...] | None) -> dict[str, list[float]]:
    """Per query, in rotating order: StyleMemory.query (with and without checker ranking) and bare
    collection.query (n_results=k, and n_results as wide as StyleMemory asks for)."""
    where = {"kind": {"$in": list(kinds)}} if kinds else None
    wide = max(8 * k, 40)  # what StyleMemory.query fetches before collapsing to one hit per entry
    fns: dict[str, Callable[[str], Any]] = {
        "memory": lambda q: mem.query(q, k, kinds),
        "memory_norank": lambda q: mem.query(q, k, kinds, rank_violations=False),
        "bare": lambda q: col.query(query_embeddings=[vectors[q]], n_results=k, where=where, include=INCLUDE),
        "bare_wide": lambda q: col.query(query_embeddings=[vectors[q]], n_results=wide, where=where,
                                         include=INCLUDE),
    }
    for q in queries[:10]:  # warm-up, not counted
        for fn in fns.values():
            fn(q)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for i, q in enumerate(queries):
        for name in names[i % 4:] + names[:i % 4]:
            samples[name].append(_ms(lambda fn=fns[name], q=q: fn(q)))
    return samples


def _agreement(mem: Any, col: Any, vectors: dict[str, list[float]], queries: list[str]) -> float:
    """Share of queries whose nearest entry is the same through StyleMemory (no ranking) and bare Chroma."""
    same = 0
    for q in queries:
        hit = mem.query(q, 1, rank_violations=False)[0].id
        found = col.query(query_embeddings=[vectors[q]], n_results=1, include=["metadatas"])
        same += hit == found["metadatas"][0][0]["entry_id"]
    return same / len(queries)


def _shape_metrics(size: int, label: str, s: dict[str, list[float]]) -> list[dict[str, Any]]:
    n = len(s["memory"])
    p50, p95 = median(s["memory"]), percentile(s["memory"], 95)
    b50, b95 = median(s["bare"]), percentile(s["bare"], 95)
    at_target = size == TARGET_SIZE
    key = f"style.{size}.{label.split(',')[0].replace('=', '')}"
    return [
        metric(f"{key}.p50_ms", f"StyleMemory.query search p50, {size:,} entries, {label}", p50, "ms", n=n,
               stat="median", ratio=p50 / b50, ratio_of=f"memory / bare collection.query p50 {b50:.2f} ms"),
        metric(f"{key}.p95_ms", f"StyleMemory.query search p95, {size:,} entries, {label}", p95, "ms", n=n,
               stat="p95", target=("<", P95_TARGET_MS) if at_target else None, ratio=p95 / b95,
               ratio_of=f"memory / bare collection.query p95 {b95:.2f} ms"),
        metric(f"{key}.overhead_pct", f"StyleMemory.query overhead over bare Chroma (p50), {size:,} entries, {label}",
               (p50 / b50 - 1) * 100, "%", n=n, stat="p50 memory / p50 bare - 1",
               target=("<", OVERHEAD_TARGET_PCT), ratio=p50 / b50, ratio_of="memory / bare p50"),
    ]


def _decomposition(size: int, label: str, s: dict[str, list[float]]) -> str:
    m = {k: median(v) for k, v in s.items()}
    return (f"{size:,} entries, {label}: p50 bare n_results=k {m['bare']:.2f} ms; bare n_results as wide as "
            f"StyleMemory fetches {m['bare_wide']:.2f} ms; StyleMemory without checker ranking "
            f"{m['memory_norank']:.2f} ms; StyleMemory (default, with ranking) {m['memory']:.2f} ms")


def _embedding(ctx: WorkerContext, real: Any, mem: Any, queries: list[str], size: int) -> list[dict[str, Any]]:
    embed_ms = [_ms(lambda q=q: real.embed([q])) for q in queries]
    mem.embedder = real  # the product's path: embed inside query
    total_ms = [_ms(lambda q=q: mem.query(q, 5)) for q in queries]
    n = len(queries)
    return [
        metric("style.embed.p50_ms", "embedding one query (MiniLM, 1 thread) p50", median(embed_ms), "ms", n=n,
               stat="median", samples=embed_ms),
        metric("style.embed.p95_ms", "embedding one query (MiniLM, 1 thread) p95", percentile(embed_ms, 95), "ms",
               n=n, stat="p95"),
        metric("style.total.p95_ms", f"StyleMemory.query embed + search p95, {size:,} entries, k=5, no filter",
               percentile(total_ms, 95), "ms", n=n, stat="p95",
               target=("<", P95_TARGET_MS) if size == TARGET_SIZE else None, p50_ms=round(median(total_ms), 3)),
    ]


def _build(ctx: WorkerContext, sizes: tuple[int, ...]) -> tuple[Any, CachingEmbedder, dict[int, Any], list[Any]]:
    import torch

    from newsroom.style.embedder import MiniLMEmbedder, pack_documents
    from newsroom.style.pack import Pack, default_pack

    real = MiniLMEmbedder()  # the product's default: one torch thread
    started = time.perf_counter()
    real.warm()
    load_s = time.perf_counter() - started
    pack = default_pack()
    base = len(pack_documents(pack, real.name))
    syn = tuple(synthetic_exemplars(pack, max(sizes) - base))
    packs = {s: Pack(root=pack.root, rules=pack.rules, exemplars=pack.exemplars + syn[:s - base], swaps=pack.swaps)
             for s in sizes}
    cache = CachingEmbedder(real)
    texts = [d.text for d in pack_documents(packs[max(sizes)], real.name)]
    # Set-up only: embed the stored documents on every usable core, then back to the product's one
    # thread before anything is timed (torch's thread count is process-wide).
    threads = len(os.sched_getaffinity(0))
    log(f"style: embedding {len(texts):,} documents once (MiniLM, {threads} threads)")
    torch.set_num_threads(threads)
    started = time.perf_counter()
    cache.prefill(texts)
    embed_s = time.perf_counter() - started
    torch.set_num_threads(1)
    metrics = [
        metric("style.embedder_load_s", "embedder load and first encode (MiniLMEmbedder.warm)", load_s, "s", n=1),
        metric("style.index_embed_docs_per_s", f"embedding documents for the index (batch 32, {threads} threads)",
               len(texts) / embed_s, "docs/s", n=len(texts), stat="total docs / total time"),
    ]
    return real, cache, packs, metrics


def measure(ctx: WorkerContext) -> dict[str, Any]:
    import chromadb
    import torch
    from chromadb.config import Settings as ChromaSettings

    from newsroom.style.checker import check_text
    from newsroom.style.memory import STYLE_COLLECTION, StyleMemory
    from newsroom.style.pack import default_pack

    sizes = (300, 1_000) if ctx.quick else (1_000, TARGET_SIZE)
    real, cache, packs, metrics = _build(ctx, sizes)
    queries = query_sentences(default_pack(), 40 if ctx.quick else 200)
    cache.prefill(queries)
    misses_before = cache.misses
    with_violation = sum(1 for q in queries if check_text(q, fragment=True).violations)
    mem = StyleMemory(ctx.tmp / "chroma", embedder=cache)
    notes: list[str] = []
    col = None
    for size in sizes:
        started = time.perf_counter()
        report = mem.index(packs[size])
        index_s = time.perf_counter() - started
        stored = mem.stats()["documents"]
        log(f"style: {stored:,} documents stored ({report.embedded} upserted in {index_s:.1f} s); timing queries")
        metrics.append(metric(f"style.{size}.index_s", f"StyleMemory.index to {stored:,} documents (vectors cached)",
                              index_s, "s", n=report.embedded, stat="upserts of pre-computed vectors"))
        if col is None:  # the same collection, opened the way a user of chromadb would
            client = chromadb.PersistentClient(path=str(mem.path), settings=ChromaSettings(anonymized_telemetry=False))
            col = client.get_collection(STYLE_COLLECTION, embedding_function=None)
        notes.append(f"{size:,} entries: nearest entry identical through StyleMemory and bare Chroma for "
                     f"{_agreement(mem, col, cache.vectors, queries[:20]):.0%} of 20 queries")
        for label, (k, kinds) in SHAPES.items():
            samples = _time_shape(mem, col, cache.vectors, queries, k, kinds)
            metrics += _shape_metrics(size, label, samples)
            notes.append(_decomposition(size, label, samples))
    assert_no_embedding = cache.misses == misses_before
    torch_threads = torch.get_num_threads()
    metrics += _embedding(ctx, real, mem, queries, max(sizes))
    mem.close()
    notes += [f"{with_violation} of {len(queries)} query texts break a house rule (checker ranking runs on them)",
              f"no text was embedded during the timed searches: {assert_no_embedding}; torch threads while "
              f"timing: {torch_threads} (the product's MiniLMEmbedder default)"]
    return {
        "title": "Style memory",
        "method": ("Synthetic exemplars (a real pack sentence + a generated sentence, seed fixed) fill the store "
                   f"to {' and '.join(f'{s:,}' for s in sizes)} documents in a temp PersistentClient. For each "
                   "query (rotating order, 10 warm-up queries) time StyleMemory.query(text, k, kinds) and bare "
                   "collection.query(query_embeddings=[same vector], n_results=k, where=same kind filter, "
                   "include=[metadatas, distances]) on the same collection; vectors come from a dict, so these "
                   "are search times. Embedding is timed alone, then StyleMemory.query with the real embedder."),
        "metrics": metrics,
        "notes": notes,
    }
