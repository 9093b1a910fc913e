"""The style memory: indexing, queries, reuse across processes, degradation, a real Chroma server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.style.memory import STYLE_COLLECTION, StyleMemory, StyleStoreError
from newsroom.style.pack import load_pack

HIT_FIELDS = {"id", "kind", "category", "text", "source", "distance"}
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1"}


@pytest.fixture
def mem_memory(tmp_path: Path, mem_pack_dir: Path, mem_fake_embedder: Any) -> Iterator[StyleMemory]:
    with StyleMemory(tmp_path / "store", knowledge_dir=mem_pack_dir, embedder=mem_fake_embedder()) as memory:
        yield memory


# -- indexing -----------------------------------------------------------------------------------
def test_index_is_idempotent_and_incremental(mem_memory: StyleMemory, mem_pack_dir: Path,
                                             mem_pack_writer: Any, mem_rules: dict[str, list[dict]]) -> None:
    first = mem_memory.index(load_pack(mem_pack_dir))
    assert (first.added, first.updated, first.removed, first.unchanged) == (13, 0, 0, 0)
    again = mem_memory.index(load_pack(mem_pack_dir))
    assert (again.added, again.updated, again.removed, again.unchanged, again.embedded) == (0, 0, 0, 13, 0)

    mem_rules["cliche.yaml"][0]["description"] = "Business clichés: game-changer, synergy, paradigm shift."
    mem_pack_writer(mem_pack_dir, rules=mem_rules)
    edited = mem_memory.index(load_pack(mem_pack_dir))
    assert (edited.added, edited.updated, edited.removed, edited.unchanged) == (0, 1, 0, 12)

    (mem_pack_dir / "rules" / "meta.yaml").unlink()
    removed = mem_memory.index(load_pack(mem_pack_dir))
    assert (removed.added, removed.updated, removed.removed, removed.unchanged) == (0, 0, 1, 12)
    assert "meta-this-article" not in {h.id for h in mem_memory.query("In this article we explore", k=20)}


def test_removing_an_example_updates_only_its_rule(mem_memory: StyleMemory, mem_pack_dir: Path,
                                                   mem_pack_writer: Any, mem_rules: dict[str, list[dict]]) -> None:
    mem_memory.index(load_pack(mem_pack_dir))
    mem_rules["opening.yaml"][0]["examples"] = []
    mem_pack_writer(mem_pack_dir, rules=mem_rules)
    report = mem_memory.index(load_pack(mem_pack_dir))
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 12)


def test_a_new_embedder_rebuilds_the_collection(tmp_path: Path, mem_pack_dir: Path, mem_fake_embedder: Any) -> None:
    with StyleMemory(tmp_path / "store", embedder=mem_fake_embedder()) as memory:
        memory.index(load_pack(mem_pack_dir))
    other = mem_fake_embedder()
    other.name = "fake-bow-64-v2"
    with StyleMemory(tmp_path / "store", embedder=other) as memory:
        report = memory.index(load_pack(mem_pack_dir))
        assert report.added == 13 and memory.stats()["documents"] == 22


def test_store_holds_no_absolute_paths(tmp_path: Path, mem_memory: StyleMemory, mem_pack_dir: Path) -> None:
    mem_memory.index(load_pack(mem_pack_dir))
    mem_memory.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert str(mem_pack_dir).encode() not in raw
    assert b"site-packages" not in raw
    assert b"rules/cliche.yaml" in raw


# -- queries ------------------------------------------------------------------------------------
def test_query_returns_kind_category_source_and_distance(mem_memory: StyleMemory) -> None:
    hits = mem_memory.query("Experts say the market will double next year.", k=3)
    assert 1 <= len(hits) <= 3
    assert all(set(h.as_dict()) == HIT_FIELDS for h in hits)
    top = hits[0]
    assert (top.id, top.kind, top.category, top.source) == (
        "attribution-experts-say", "rule", "attribution", "rules/attribution.yaml")
    assert 0.0 <= top.distance < 1.0
    assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    assert "Name the source" in top.text
    assert len({h.id for h in hits}) == len(hits), "one hit per entry, not per document"


def test_query_filters_by_kind_and_category(mem_memory: StyleMemory) -> None:
    exemplars = mem_memory.query("The council voted to close the coal plant.", k=5, kinds=["exemplar"])
    assert {h.kind for h in exemplars} == {"exemplar"} and len(exemplars) == 2
    assert exemplars[0].source == "exemplars/openings.yaml"
    closing = mem_memory.query("anything at all", k=5, categories=["closing"])
    assert {(h.kind, h.category) for h in closing} == {("rule", "closing"), ("exemplar", "closing")}
    both = mem_memory.query("anything", k=5, kinds=["rule"], categories=["closing", "opening"])
    assert {h.id for h in both} == {"closing-in-conclusion", "opening-fast-paced"}


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"kinds": ["rules"]}, {"categories": ["tone"]}])
def test_bad_query_arguments_raise_config_error(mem_memory: StyleMemory, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        mem_memory.query("text", **kwargs)


def test_first_query_indexes_an_empty_store_once(mem_memory: StyleMemory) -> None:
    mem_memory.query("In today's fast-paced world")
    embedded = mem_memory.embedder.texts_embedded  # type: ignore[attr-defined]
    assert embedded == 22 + 1
    mem_memory.query("Experts say")
    assert mem_memory.embedder.texts_embedded == embedded + 1  # type: ignore[attr-defined]


def test_stats_and_health(mem_memory: StyleMemory, tmp_path: Path) -> None:
    assert "empty" in mem_memory.health()
    assert mem_memory.warm() is not None and mem_memory.warm() is None
    stats = mem_memory.stats()
    assert stats["entries"] == {"rule": 11, "exemplar": 2}
    assert stats["categories"]["closing"] == {"rule": 1, "exemplar": 1}
    assert stats["store"] == str(tmp_path / "store") and stats["backend"] == "persistent"
    assert stats["last_indexed"] and stats["embedder"] == "fake-bow-64"
    assert "11 rules, 2 exemplars, 0 published" in mem_memory.health()


def test_chroma_telemetry_is_off(mem_memory: StyleMemory) -> None:
    mem_memory.stats()
    assert mem_memory._client.get_settings().anonymized_telemetry is False


def test_from_settings(tmp_path: Path) -> None:
    memory = StyleMemory.from_settings(Settings(workspace=tmp_path, style_timeout_ms=250))
    assert memory.path == tmp_path / ".newsroom" / "chroma" and memory.url is None
    assert memory.timeout_ms == 250 and memory.knowledge_dir is None
    remote = StyleMemory.from_settings(Settings(workspace=tmp_path, chroma_url="http://127.0.0.1:9"))
    assert remote.path is None and remote.location == "http://127.0.0.1:9"


@pytest.mark.parametrize("url", ["ftp://host:1", "http://host:1/sub/path", "http://host:notaport"])
def test_bad_chroma_url_is_a_config_error(url: str, mem_fake_embedder: Any) -> None:
    with pytest.raises(ConfigError, match="Chroma URL"):
        StyleMemory(url=url, embedder=mem_fake_embedder()).query("text")


def test_published_articles(mem_memory: StyleMemory) -> None:
    assert mem_memory.similar_published("coal") == []
    mem_memory.add_published("a1", "Council closes coal plant", "The council voted to close the coal plant. " * 80,
                             {"path": "out/a1.md", "tags": ["energy"], "missing": None})
    mem_memory.add_published("a2", "Bakery wins prize", "A bakery in the old town won a bread prize. " * 5)
    hits = mem_memory.similar_published("the coal plant vote", k=2)
    assert [h.id for h in hits] == ["a1", "a2"]
    assert (hits[0].kind, hits[0].text, hits[0].source) == ("published", "Council closes coal plant", "out/a1.md")
    mem_memory.add_published("a1", "Council closes coal plant", "Replaced text about coal.")
    assert mem_memory.stats()["published"] == 2


# -- degradation --------------------------------------------------------------------------------
def _assert_degraded(outcome: Any, *words: str) -> None:
    assert outcome.degraded and outcome.hits == [] and outcome.reason
    for word in words:
        assert word in outcome.reason, outcome.reason


def test_safe_query_succeeds_on_a_healthy_store(mem_memory: StyleMemory) -> None:
    mem_memory.warm()
    outcome = mem_memory.safe_query("Experts say so.", k=2, kinds=["rule"])
    assert not outcome.degraded and outcome.reason is None and outcome.hits
    assert outcome.duration_ms < 500


def test_corrupt_store_degrades(tmp_path: Path, mem_pack_dir: Path, mem_fake_embedder: Any) -> None:
    with StyleMemory(tmp_path / "store", embedder=mem_fake_embedder()) as memory:
        memory.index(load_pack(mem_pack_dir))
    sqlite = tmp_path / "store" / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 512)
    memory = StyleMemory(tmp_path / "store", knowledge_dir=mem_pack_dir, embedder=mem_fake_embedder())
    _assert_degraded(memory.safe_query("Experts say so."), "cannot open the store")
    with pytest.raises(StyleStoreError, match="style index"):
        memory.health()


def test_store_deleted_mid_use_degrades_then_rebuilds(tmp_path: Path, mem_memory: StyleMemory,
                                                      mem_pack_dir: Path) -> None:
    mem_memory.warm()
    assert not mem_memory.safe_query("Experts say so.").degraded
    shutil.rmtree(tmp_path / "store")
    _assert_degraded(mem_memory.safe_query("Experts say so."), "vanished")
    assert mem_memory.index(load_pack(mem_pack_dir)).added == 13
    assert mem_memory.query("Experts say so.")[0].id == "attribution-experts-say"


def test_unusable_store_path_degrades(tmp_path: Path, mem_fake_embedder: Any) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    memory = StyleMemory(tmp_path / "a-file" / "store", embedder=mem_fake_embedder())
    _assert_degraded(memory.safe_query("anything"), "cannot open the store")


def test_closed_port_degrades_quickly(mem_fake_embedder: Any) -> None:
    memory = StyleMemory(url=f"http://127.0.0.1:{_free_port()}", embedder=mem_fake_embedder(), timeout_ms=5000)
    outcome = memory.safe_query("anything")
    _assert_degraded(outcome, "cannot open the store")
    assert outcome.duration_ms < 5000
    with pytest.raises(StyleStoreError):
        memory.health()


class _SlowCollection:
    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query(self, **kwargs: Any) -> Any:
        time.sleep(self.delay_s)
        return self.inner.query(**kwargs)


def test_slow_store_times_out(mem_memory: StyleMemory) -> None:
    mem_memory.warm()
    mem_memory._collections[STYLE_COLLECTION] = _SlowCollection(mem_memory._collection(STYLE_COLLECTION), 2.0)
    outcome = mem_memory.safe_query("Experts say so.", timeout_ms=150)
    _assert_degraded(outcome, "did not answer within 150 ms")
    assert "warm()" not in (outcome.reason or "")
    assert outcome.duration_ms < 1000


def test_slow_first_query_hints_at_warm(tmp_path: Path, mem_pack_dir: Path, mem_fake_embedder: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("newsroom.style.memory.is_loaded", lambda: False)
    memory = StyleMemory(tmp_path / "store", knowledge_dir=mem_pack_dir, embedder=mem_fake_embedder(delay_s=1.0))
    _assert_degraded(memory.safe_query("anything", timeout_ms=100), "call warm() first")


def test_bad_arguments_degrade_too(mem_memory: StyleMemory) -> None:
    _assert_degraded(mem_memory.safe_query("anything", kinds=["nope"]), "unknown kind 'nope'")
    _assert_degraded(mem_memory.safe_similar_published("anything", k=0), "k must be at least 1")


# -- the real embedder, other processes, a real server -------------------------------------------
CHILD_QUERY = """
import json, sys
from newsroom.style.memory import StyleMemory
from newsroom.style.pack import load_pack
memory = StyleMemory(sys.argv[1], knowledge_dir=sys.argv[2])
hits = memory.query("Experts say the market will double next year.", k=3, kinds=["rule"])
documents = memory.stats()["documents"]
report = memory.index(load_pack(sys.argv[2]))
print(json.dumps({"embedded": memory.embedder.texts_embedded, "top": hits[0].id, "documents": documents,
                  "report": report.as_dict()}))
"""


@pytest.mark.slow
def test_store_is_reused_across_processes(tmp_path: Path, mem_pack_dir: Path) -> None:
    with StyleMemory(tmp_path / "store", knowledge_dir=mem_pack_dir) as memory:
        assert memory.index(load_pack(mem_pack_dir)).added == 13
        documents = memory.stats()["documents"]
    done = subprocess.run([sys.executable, "-c", CHILD_QUERY, str(tmp_path / "store"), str(mem_pack_dir)],
                          capture_output=True, text=True, timeout=300, env=_child_env(tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout)
    assert child["embedded"] == 1, "only the query was embedded: the pack was not re-indexed"
    assert child["documents"] == documents and child["top"] == "attribution-experts-say"
    assert child["report"] == {"added": 0, "updated": 0, "removed": 0, "unchanged": 13, "embedded": 0}


class _Server:
    def __init__(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.proc = url, proc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def mem_chroma_server(tmp_path: Path) -> Iterator[_Server]:
    """A real `chroma run` on a free loopback port; fails the test if it does not come up."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "chroma-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(tmp_path / "server"),
                                 "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=_child_env(tmp_path / "home"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: {log_path.read_text(errors='replace')}")
            try:
                opener.open(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not answer within 60 s: {log_path.read_text(errors='replace')}")
                time.sleep(0.2)
        yield _Server(url, proc)
    finally:
        _Server(url, proc).stop()


@pytest.mark.slow
def test_http_client_against_a_real_chroma_server(mem_chroma_server: _Server, mem_pack_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = mem_chroma_server.url
    monkeypatch.setenv("NEWSROOM_CHROMA_URL", url)
    settings = Settings.load(workspace=tmp_path, knowledge_dir=mem_pack_dir)
    with StyleMemory.from_settings(settings) as memory:
        assert memory.url == url and memory.path is None
        assert memory.warm() is not None  # empty server store: the pack got indexed
        hits = memory.query("Experts say the market will double next year.", k=3, kinds=["rule"])
        assert hits[0].id == "attribution-experts-say" and hits[0].category == "attribution"
        assert memory.index(load_pack(mem_pack_dir)).unchanged == 13
        assert memory.stats()["backend"] == "http"
        assert memory.health().startswith(f"http store {url}: 11 rules, 2 exemplars")
        assert not memory.safe_query("In conclusion, only time will tell.").degraded
        mem_chroma_server.stop()
        _assert_degraded(memory.safe_query("In conclusion, only time will tell."), "cannot query the store")
    assert not (tmp_path / ".newsroom").exists(), "nothing written to the embedded store"


# -- retrieval quality on the real pack -----------------------------------------------------------
# Held-out sentences that break the house style (none is copied from the pack), by category.
EVAL_SENTENCES = {
    "opening": [
        "In today's fast-paced world, businesses must adapt or fall behind.",
        "Since the dawn of time, people have argued about how to pay for roads.",
        "Ever wondered what really happens to the bottles you recycle?",
        "It goes without saying that the internet has changed the way we live.",
    ],
    "cliche": [
        "The new app is a real game-changer for small shops.",
        "The merger will leverage synergies and drive a paradigm shift across the sector.",
        "At the end of the day, the start-up needs to think outside the box.",
        "The firm hopes its cutting-edge, best-in-class platform will move the needle.",
    ],
    "hedging": [
        "The policy could perhaps arguably be seen as somewhat of a failure.",
        "It seems that the results might possibly suggest a slight improvement.",
        "To a certain extent, the plan has been fairly successful in some ways.",
        "It is important to note that this is, in a sense, basically true.",
    ],
    "closing": [
        "In conclusion, the future of energy remains to be seen.",
        "Only time will tell whether the reforms will work.",
        "All in all, it is an exciting time for the industry.",
        "To sum up, there are many pros and cons to consider.",
    ],
    "attribution": [
        "Experts say the housing market will crash next year.",
        "Studies show that 80% of people would rather work from home.",
        "According to some reports, the factory will close before the summer.",
        "Many people believe the minister knew about the deal all along.",
    ],
    "spelling": [
        "The committee will analyze the color of the new flag.",
        "The city center was full of fans celebrating the team's honor.",
        "We need to organize a program to modernize the old theater.",
        "The defense minister said the labor costs were favorable.",
    ],
    "punctuation": [
        "The results were absolutely incredible!",
        "Can you believe it?!",
        "This is huge!!! Prices are falling everywhere!",
        "What a day it was for the whole city!",
    ],
    "placeholder": [
        "TODO: add the quote from the mayor here.",
        "The plant employs [NUMBER] people in the region.",
        "Sales rose by 40% last year [NEEDS SOURCE].",
        "The spokesperson, [NAME], said the budget was still TBD.",
    ],
    "meta": [
        "In this article, we will explore the history of the railway.",
        "This piece will look at three reasons why the plan failed.",
        "Read on to find out why prices keep rising.",
        "As we have seen in this post, the council voted twice.",
    ],
    "structure": [
        "# Introduction\n\nThis section introduces the topic of the article.",
        "- First point\n- Second point\n- Third point\n- Fourth point\n- Fifth point\n- Sixth point",
        "The whole article is a single paragraph of eighty words with no headings at all.",
        "A Very Long Title That Goes On And On About Everything That Happened At The Council Meeting",
    ],
    "front_matter": [
        "---\ntitle:\ndate: yesterday\n---",
        "---\nauthor: staff\ntags: news\n---\nThe council met on Tuesday.",
        "The article starts straight with its text and has no YAML front matter block.",
        "---\ntitle: Council votes\ndate: 32/13/2024\n---",
    ],
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _hit_rate(memory: StyleMemory, *, rank_violations: bool) -> tuple[float, list[Any]]:
    misses, total = [], 0
    for category, sentences in EVAL_SENTENCES.items():
        for sentence in sentences:
            total += 1
            top = memory.query(sentence, k=3, kinds=["rule"], rank_violations=rank_violations)
            if category not in {h.category for h in top}:
                misses.append((category, sentence, [h.id for h in top]))
    assert total >= 44
    return 1 - len(misses) / total, misses


@pytest.fixture(scope="module")
def mem_real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StyleMemory]:
    """A store of the real house pack (``knowledge/``), with the real embedder, warmed."""
    from newsroom.paths import data_dir

    pack = load_pack(data_dir("knowledge"))
    assert {r.category for r in pack.rules} >= set(EVAL_SENTENCES), "the pack covers every category"
    with StyleMemory(tmp_path_factory.mktemp("real") / "store", knowledge_dir=pack.root) as memory:
        memory.index(pack)
        memory.warm()
        yield memory


@pytest.mark.slow
def test_retrieval_finds_a_rule_of_the_right_category(mem_real_store: StyleMemory) -> None:
    """A rule of the sentence's category is in the top 3 for at least 90% of held-out sentences."""
    rate, misses = _hit_rate(mem_real_store, rank_violations=True)
    dense, dense_misses = _hit_rate(mem_real_store, rank_violations=False)
    print(f"\nretrieval, right category in the top 3: {rate:.1%} (by meaning alone {dense:.1%})")
    for miss in misses + dense_misses:
        print("  miss:", miss)
    assert rate >= 0.9, misses
    assert dense >= 0.75, dense_misses  # a floor: the embedding side must not quietly rot


@pytest.mark.slow
def test_warm_queries_fit_the_default_timeout(mem_real_store: StyleMemory) -> None:
    sentences = [s for group in EVAL_SENTENCES.values() for s in group] * 2
    embed_ms, total_ms = [], []
    for sentence in sentences:
        started = time.perf_counter()
        mem_real_store.embedder.embed([sentence])
        embed_ms.append((time.perf_counter() - started) * 1000)
        outcome = mem_real_store.safe_query(sentence, k=5)
        assert not outcome.degraded, outcome.reason
        total_ms.append(outcome.duration_ms)
    print(f"\nquery latency over {len(total_ms)} warm queries: p50 {_percentile(total_ms, 0.5):.1f} ms, "
          f"p95 {_percentile(total_ms, 0.95):.1f} ms; embedding alone p50 {_percentile(embed_ms, 0.5):.1f} ms, "
          f"p95 {_percentile(embed_ms, 0.95):.1f} ms")
    assert _percentile(total_ms, 0.5) < 500
