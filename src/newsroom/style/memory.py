"""The style memory: the house-style pack and published articles in a Chroma store.

Embeddings are always computed here (``newsroom.style.embedder``) and passed explicitly; Chroma's
own embedder is never used. Both collections are in cosine space:

* ``style_rules_exemplars``: per rule, one document (description, suggestion, phrases, examples)
  and one per example sentence; per exemplar, its passage (see ``pack_documents``). Ids are stable
  (``rule-id``, ``rule-id#ex1``, ``exemplar-id``) and metadata holds a sha256 of what was stored,
  so ``index`` re-embeds only what changed and deletes what left the pack.
* ``published``: articles already published in the workspace.

A query ranks the rules its text breaks outright (the deterministic checker) first, then the
nearest by meaning. The store (``<workspace>/.newsroom/chroma``, or a Chroma server) is built once
and reused by later queries and processes; a query on an empty store first indexes the pack.

Timeouts: ``safe_query`` runs the query in a worker thread and, if the store is missing, corrupt,
unreachable or slower than ``timeout_ms``, returns no hits and the reason; it never raises. The
first embed of a process loads the model (seconds), so call ``warm()`` before the timed part of a
run: the timeout then bounds the query itself (~35 ms), not the model load.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsroom.errors import ConfigError, NewsroomError
from newsroom.style.embedder import (
    Doc,
    Embedder,
    MiniLMEmbedder,
    embed_long,
    is_loaded,
    model_path,
    pack_documents,
)
from newsroom.style.pack import CATEGORIES, Pack, default_pack, load_pack

if TYPE_CHECKING:
    from newsroom.config import Settings

log = logging.getLogger(__name__)

# Query threads that outlived their timeout. A daemon thread killed at interpreter exit while inside
# torch or Chroma's native code aborts the whole process (std::terminate), so exit waits for them,
# for a bounded time: a slow store is let finish, a hung one is abandoned.
_QUERIES: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_EXIT_WAIT_S = 30.0


@atexit.register
def _wait_for_queries() -> None:
    deadline = time.monotonic() + _EXIT_WAIT_S
    for worker in list(_QUERIES):
        worker.join(max(0.0, deadline - time.monotonic()))

STYLE_COLLECTION = "style_rules_exemplars"
PUBLISHED_COLLECTION = "published"
KINDS = ("rule", "exemplar")
_SPACE = {"hnsw": {"space": "cosine"}}
_BATCH = 500


class StyleStoreError(NewsroomError):
    """The style store could not be opened, read or written; the message says where and what to do."""


@dataclass(frozen=True)
class Hit:
    """One query result (``style query --json`` prints these fields)."""

    id: str
    kind: str
    category: str
    text: str
    source: str
    distance: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexReport:
    """What ``index`` did, counted per pack entry (rule or exemplar); ``embedded`` counts documents."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class QueryOutcome:
    """A guarded query: the hits, or none and the reason the store was skipped."""

    hits: list[Hit] = field(default_factory=list)
    degraded: bool = False
    reason: str | None = None
    duration_ms: float = 0.0


def _diff(docs: list[Doc], stored: dict[str, dict[str, Any]]) -> tuple[IndexReport, list[Doc], list[str]]:
    """Compare wanted documents with stored metadata: the report, what to upsert, what to delete."""
    wanted = {d.id for d in docs}
    upsert = [d for d in docs if stored.get(d.id, {}).get("sha256") != d.meta["sha256"]]
    delete = [i for i in stored if i not in wanted]
    old_entries = {m.get("entry_id", i) for i, m in stored.items()}
    new_entries = {d.meta["entry_id"] for d in docs}
    touched = {d.meta["entry_id"] for d in upsert} | {stored[i].get("entry_id", i) for i in delete}
    added = new_entries - old_entries
    report = IndexReport(added=len(added), updated=len((touched & new_entries) - added),
                         removed=len(old_entries - new_entries),
                         unchanged=len(new_entries - touched), embedded=len(upsert))
    return report, upsert, delete


def _collapse(found: dict[str, Any]) -> list[Hit]:
    """One hit per entry (a rule and its examples are several documents), nearest first."""
    hits: dict[str, Hit] = {}
    for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True):
        entry = str(meta.get("entry_id"))
        if entry not in hits:
            hits[entry] = Hit(id=entry, kind=str(meta["kind"]), category=str(meta["category"]),
                              text=str(meta.get("shown", "")), source=str(meta.get("source", "")),
                              distance=round(float(dist), 4))
    return list(hits.values())


def _where(kinds: Sequence[str] | None, categories: Sequence[str] | None) -> dict[str, Any] | None:
    for value, allowed, what in ((kinds, KINDS, "kind"), (categories, CATEGORIES, "category")):
        bad = sorted(set(value or ()) - set(allowed))
        if bad:
            raise ConfigError(f"unknown {what} {bad[0]!r}; choose from {', '.join(allowed)}")
    clauses: list[dict[str, Any]] = []
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    if categories:
        clauses.append({"category": {"$in": list(categories)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _flat_meta(metadata: dict[str, Any] | None) -> dict[str, str | int | float | bool]:
    """Chroma metadata takes scalars only: keep those, JSON-encode the rest, drop ``None``."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in (metadata or {}).items():
        if value is None:
            continue
        out[str(key)] = value if isinstance(value, str | int | float | bool) else json.dumps(value, default=str)
    return out


@contextmanager
def _store_errors(action: str, location: str) -> Iterator[None]:
    """Turn Chroma's exceptions into one ``StyleStoreError`` that says where and what to do."""
    try:
        yield
    except NewsroomError:
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StyleStoreError(f"style store {location!r}: cannot {action} ({detail}); check the store "
                              "or rebuild it with `newsroom style index`") from exc


def default_embedder() -> Embedder:
    """The embedder a ``StyleMemory`` uses unless given one (tests swap this for a fake)."""
    return MiniLMEmbedder()


class StyleMemory:
    """House-style rules, exemplars and published articles in Chroma, queried by meaning.

    ``path`` is the embedded store's directory; ``url`` (``http://host:port``) selects a Chroma server
    instead. ``knowledge_dir`` is the pack indexed when a query finds the store empty and checked
    against query texts (default: the packaged ``knowledge/``). ``timeout_ms`` bounds ``safe_query``.
    Thread-safe; a process may hold several instances on one store.
    """

    def __init__(self, path: Path | str | None = None, *, url: str | None = None,
                 knowledge_dir: Path | str | None = None, embedder: Embedder | None = None,
                 timeout_ms: int = 500) -> None:
        if path is None and url is None:
            raise ConfigError("StyleMemory needs a store path or a Chroma URL (settings.chroma_url)")
        self.path = Path(path).expanduser().resolve() if path is not None and url is None else None
        self.url = url
        self.knowledge_dir = Path(knowledge_dir) if knowledge_dir is not None else None
        self.embedder = embedder if embedder is not None else default_embedder()
        self.timeout_ms = timeout_ms
        self._lock = threading.RLock()
        self._client: Any = None
        self._collections: dict[str, Any] = {}
        self._seeded = False
        self._warm = False
        self._vanished: str | None = None
        self._loaded_pack: Pack | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder | None = None) -> StyleMemory:
        """The workspace's store: ``settings.chroma_url`` if set, else ``<state_dir>/chroma``."""
        return cls(settings.state_dir / "chroma", url=settings.chroma_url, embedder=embedder,
                   knowledge_dir=settings.knowledge_dir, timeout_ms=settings.style_timeout_ms)

    @property
    def location(self) -> str:
        """Where the store lives: its directory or its server URL."""
        return self.url if self.url else str(self.path)

    def __enter__(self) -> StyleMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the Chroma client (the store stays on disk)."""
        with self._lock:
            client, self._client = self._client, None
            self._collections.clear()
            self._seeded = False
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken client must not mask the original failure
                log.debug("closing the chroma client failed", exc_info=True)

    # -- opening ------------------------------------------------------------------------------
    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            host, port, ssl = _parse_url(self.url)
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
        path = self.path or Path(".")
        if not (path / "chroma.sqlite3").exists():
            # Chroma caches one engine per directory per process; one left over from a store that was
            # deleted under it would keep writing to unlinked files.
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(str(path), None)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)

    def _collection(self, name: str) -> Any:
        with self._lock:
            if self._vanished:
                raise StyleStoreError(self._vanished)
            if self.path is not None and self._client is not None \
                    and not (self.path / "chroma.sqlite3").exists():
                # Stay degraded for the rest of this instance's life: silently rebuilding the whole
                # store inside a timed query would leave expensive work running in the background.
                self._vanished = (f"the style store at {str(self.path)!r} vanished while in use; "
                                  "rebuild it with `newsroom style index`")
                self.close()
                raise StyleStoreError(self._vanished)
            with _store_errors("open the store", self.location):
                if self._client is None:
                    self._client = self._connect()
                if name not in self._collections:
                    self._collections[name] = self._client.get_or_create_collection(
                        name, configuration=_SPACE, embedding_function=None)
            return self._collections[name]

    def _reset(self, name: str) -> Any:
        with self._lock, _store_errors("reset the store", self.location):
            self._client.delete_collection(name)
            self._collections.pop(name, None)
        return self._collection(name)

    def warm(self) -> IndexReport | None:
        """Load the embedder and open the store (indexing the pack if empty), outside any timeout.

        Returns the ``IndexReport`` if the store was empty and got indexed, else ``None``. Raises
        like ``query``; a run that must go on without the memory catches ``NewsroomError``.
        """
        warm = getattr(self.embedder, "warm", None)
        if callable(warm):
            warm()
        report = self._ensure_indexed()
        self._warm = True
        return report

    # -- the style collection -----------------------------------------------------------------
    def index(self, pack: Pack | None = None) -> IndexReport:
        """Bring the store in line with ``pack`` (default: the configured pack); idempotent.

        An explicit ``index`` also rebuilds a store that vanished in use (queries never do)."""
        self._vanished = None
        pack = pack if pack is not None else self._pack()
        col = self._collection(STYLE_COLLECTION)
        if (col.metadata or {}).get("embedder", self.embedder.name) != self.embedder.name:
            col = self._reset(STYLE_COLLECTION)  # vectors from another model are not comparable
        docs = pack_documents(pack, self.embedder.name)
        with _store_errors("read the store", self.location):
            got = col.get(include=["metadatas"])
        stored = {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}
        report, upsert, delete = _diff(docs, stored)
        vectors = self.embedder.embed([d.text for d in upsert])
        with _store_errors("write the store", self.location):
            for start in range(0, len(upsert), _BATCH):
                part = upsert[start:start + _BATCH]
                col.upsert(ids=[d.id for d in part], documents=[d.text for d in part],
                           metadatas=[d.meta for d in part], embeddings=vectors[start:start + _BATCH])
            if delete:
                col.delete(ids=delete)
            col.modify(metadata={"indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                 "embedder": self.embedder.name})
        self._seeded = True
        log.info("indexed the style pack into %s: %s", self.location, report)
        return report

    def _ensure_indexed(self) -> IndexReport | None:
        if self._seeded:
            return None
        with self._lock:  # one indexing at a time, however many queries wait for it
            if self._seeded:
                return None
            col = self._collection(STYLE_COLLECTION)
            with _store_errors("count the store", self.location):
                empty = col.count() == 0
            report = self.index() if empty else None
            self._seeded = True
            return report

    def query(self, text: str, k: int = 5, kinds: Sequence[str] | None = None,
              categories: Sequence[str] | None = None, *, rank_violations: bool = True) -> list[Hit]:
        """The ``k`` rules/exemplars nearest ``text`` (one hit per entry), nearest first.

        With ``rank_violations`` the rules ``text`` breaks outright (the deterministic checker's
        verdict on it as a fragment) come first, nearest first among them; retrieval by meaning
        alone finds a rule of the right category in the top 3 for ~86% of test sentences, with
        them for ~98%. Indexes the default pack first if the store is empty. Raises ``ConfigError``
        for bad arguments and ``StyleStoreError`` if the store fails (``safe_query`` never raises).
        """
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k!r}")
        where = _where(kinds, categories)
        self._ensure_indexed()
        col = self._collection(STYLE_COLLECTION)
        vector = self.embedder.embed([text])[0]
        with _store_errors("query the store", self.location):
            hits = _collapse(col.query(query_embeddings=[vector], n_results=max(8 * k, 40), where=where,
                                       include=["metadatas", "distances"]))
            broken = self._broken_rules(text, categories) if rank_violations and "rule" in (kinds or KINDS) else []
            if broken:
                first = _collapse(col.query(query_embeddings=[vector], n_results=10 * len(broken),
                                            where={"entry_id": {"$in": broken}},
                                            include=["metadatas", "distances"]))
                hits = first + [h for h in hits if h.id not in set(broken)]
        return hits[:k]

    def _broken_rules(self, text: str, categories: Sequence[str] | None) -> list[str]:
        from newsroom.style.checker import check_text

        try:
            violations = check_text(text, fragment=True, pack=self._pack()).violations
        except NewsroomError as exc:  # a broken pack must not cost the retrieval by meaning
            log.debug("style memory: cannot check the query text: %s", exc)
            return []
        return list(dict.fromkeys(v.rule_id for v in violations if not categories or v.category in categories))

    def _pack(self) -> Pack:
        if self.knowledge_dir is None:
            return default_pack()
        if self._loaded_pack is None:
            self._loaded_pack = load_pack(self.knowledge_dir)
        return self._loaded_pack

    def safe_query(self, text: str, k: int = 5, kinds: Sequence[str] | None = None,
                   categories: Sequence[str] | None = None, timeout_ms: int | None = None) -> QueryOutcome:
        """``query`` that never raises: on any failure or after ``timeout_ms``, no hits and the reason."""
        return self._guarded(lambda: self.query(text, k, kinds, categories), timeout_ms)

    # -- published articles -------------------------------------------------------------------
    def add_published(self, article_id: str, title: str, text: str,
                      metadata: dict[str, Any] | None = None) -> None:
        """Store (or replace) a published article; its vector is the mean of its chunks' vectors."""
        vector = embed_long(self.embedder, f"{title}\n\n{text}")
        meta = {**_flat_meta(metadata), "kind": "published", "title": title,
                "sha256": hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()}
        col = self._collection(PUBLISHED_COLLECTION)
        with _store_errors("write the store", self.location):
            col.upsert(ids=[article_id], documents=[text], metadatas=[meta],
                       embeddings=[vector])

    def similar_published(self, text: str, k: int = 5) -> list[Hit]:
        """Published articles nearest ``text``: ``Hit.text`` is the title, ``source`` its path if known."""
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k!r}")
        col = self._collection(PUBLISHED_COLLECTION)
        with _store_errors("count the store", self.location):
            if col.count() == 0:
                return []
        vector = self.embedder.embed([text])[0]
        with _store_errors("query the store", self.location):
            found = col.query(query_embeddings=[vector], n_results=k, include=["metadatas", "distances"])
        return [Hit(id=i, kind="published", category=str(m.get("category", "")), text=str(m.get("title", "")),
                    source=str(m.get("path", "")), distance=round(float(d), 4))
                for i, m, d in zip(found["ids"][0], found["metadatas"][0], found["distances"][0], strict=True)]

    def safe_similar_published(self, text: str, k: int = 5, timeout_ms: int | None = None) -> QueryOutcome:
        """``similar_published`` that never raises (see ``safe_query``)."""
        return self._guarded(lambda: self.similar_published(text, k), timeout_ms)

    # -- guard, stats, health -----------------------------------------------------------------
    def _guarded(self, call: Callable[[], list[Hit]], timeout_ms: int | None) -> QueryOutcome:
        limit = self.timeout_ms if timeout_ms is None else timeout_ms
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["hits"] = call()
            except BaseException as exc:  # reported to the caller as the reason
                box["error"] = exc
            finally:
                done.set()

        started = time.perf_counter()
        # A daemon thread: a hung store must not keep the process alive after the run.
        worker = threading.Thread(target=run, name="newsroom-style-query", daemon=True)
        _QUERIES.add(worker)
        worker.start()
        finished = done.wait(limit / 1000)
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        if not finished:
            hint = "" if self._warm or is_loaded() else " (this included loading the embedder: call warm() first)"
            reason = f"style store {self.location!r} did not answer within {limit} ms{hint}"
        elif "error" in box:
            exc = box["error"]
            reason = str(exc) if isinstance(exc, NewsroomError) else f"{type(exc).__name__}: {exc}"
        else:
            return QueryOutcome(hits=box["hits"], duration_ms=elapsed)
        log.warning("style memory degraded: %s", reason)
        return QueryOutcome(hits=[], degraded=True, reason=reason, duration_ms=elapsed)

    def stats(self) -> dict[str, Any]:
        """Counts by kind and category, the store's location, the embedder and the last index time."""
        style, published = self._collection(STYLE_COLLECTION), self._collection(PUBLISHED_COLLECTION)
        with _store_errors("read the store", self.location):
            metas = style.get(include=["metadatas"])["metadatas"] or []
            n_published, info = published.count(), dict(style.metadata or {})
        entries = {(str(m.get("kind")), str(m.get("category")), str(m.get("entry_id"))) for m in metas}
        counts = Counter((kind, category) for kind, category, _ in entries)
        return {"store": self.location, "backend": "http" if self.url else "persistent",
                "embedder": getattr(self.embedder, "describe", lambda: self.embedder.name)(),
                "documents": len(metas), "published": n_published,
                "entries": {k: sum(1 for e in entries if e[0] == k) for k in KINDS},
                "categories": {c: {k: counts[k, c] for k in KINDS} for c in CATEGORIES},
                "last_indexed": info.get("indexed_at")}

    def health(self) -> str:
        """One line on the store; raises ``StyleStoreError``/``ConfigError`` if it is unusable."""
        if isinstance(self.embedder, MiniLMEmbedder):
            model_path()
        stats = self.stats()
        entries = stats["entries"]
        content = (f"{entries['rule']} rules, {entries['exemplar']} exemplars, {stats['published']} published"
                   if stats["documents"] else "empty (the pack is indexed on first query)")
        return f"{stats['backend']} store {stats['store']}: {content}; embedder {self.embedder.name}"


def _parse_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"bad Chroma URL {url!r}; expected http://HOST:PORT "
                          "(--chroma-url or NEWSROOM_CHROMA_URL)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError:
        raise ConfigError(f"bad port in Chroma URL {url!r}; expected http://HOST:PORT") from None
    return parts.hostname, port, parts.scheme == "https"
