"""``newsroom style``: the click group in-process, and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.style import cli_memory
from newsroom.style.cli_memory import style
from newsroom.style.pack import CATEGORIES

HIT_FIELDS = {"id", "kind", "category", "text", "source", "distance"}


class MemObj:
    """What the main CLI puts in ``ctx.obj``: ``.settings(**explicit)``."""

    def __init__(self, workspace: Path, **defaults: Any) -> None:
        self.workspace, self.defaults, self.calls = workspace, defaults, []

    def settings(self, **explicit: Any) -> Settings:
        self.calls.append(explicit)
        given = {k: v for k, v in explicit.items() if v is not None}  # as Settings.load treats None
        return Settings.load(workspace=self.workspace, env={}, **{**self.defaults, **given})


@pytest.fixture
def mem_cli(tmp_path: Path, mem_pack_dir: Path, mem_fake_embedder: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("newsroom.style.memory.default_embedder", lambda: mem_fake_embedder())
    monkeypatch.delenv("NEWSROOM_CHROMA_URL", raising=False)
    obj = MemObj(tmp_path / "ws", knowledge_dir=mem_pack_dir)
    (tmp_path / "ws").mkdir()

    def invoke(*args: str, **kwargs: Any) -> Any:
        return CliRunner().invoke(style, list(args), obj=obj, **kwargs)

    invoke.obj = obj  # type: ignore[attr-defined]
    return invoke


def test_index_prints_the_report_and_is_idempotent(mem_cli: Any, tmp_path: Path) -> None:
    first = mem_cli("index", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert {k: report[k] for k in ("added", "updated", "removed", "unchanged")} == {
        "added": 13, "updated": 0, "removed": 0, "unchanged": 0}
    assert report["store"] == str(tmp_path / "ws" / ".newsroom" / "chroma")
    assert "indexing 11 rules and 2 exemplars" in first.stderr and "indexed in" in first.stderr
    again = mem_cli("index")
    assert again.exit_code == 0 and "added 0, updated 0, removed 0, unchanged 13" in again.stdout


def test_index_takes_another_pack(mem_cli: Any, tmp_path: Path, mem_pack_writer: Any,
                                  mem_rules: dict[str, list[dict]]) -> None:
    other = mem_pack_writer(tmp_path / "other", rules={"cliche.yaml": mem_rules["cliche.yaml"]})
    done = mem_cli("index", "--knowledge", str(other), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["added"] == 3
    assert mem_cli.obj.calls[-1]["knowledge_dir"] == other


def test_query_prints_hits(mem_cli: Any) -> None:
    done = mem_cli("query", "Experts say the market will double.", "--k", "2", "--json")
    assert done.exit_code == 0, done.output
    hits = json.loads(done.stdout)
    assert len(hits) == 2 and all(set(h) == HIT_FIELDS for h in hits)
    assert hits[0]["id"] == "attribution-experts-say" and hits[0]["kind"] == "rule"
    assert "style store was empty: indexed 13 entries" in done.stderr
    human = mem_cli("query", "The council voted to close the plant.", "--kind", "exemplar")
    assert human.exit_code == 0 and "exemplar" in human.stdout and "rule " not in human.stdout


def test_query_by_category(mem_cli: Any) -> None:
    done = mem_cli("query", "anything", "--category", "closing", "--kind", "rule", "--json")
    assert [h["id"] for h in json.loads(done.stdout)] == ["closing-in-conclusion"]


def test_stats(mem_cli: Any) -> None:
    mem_cli("index")
    done = mem_cli("stats", "--json")
    assert done.exit_code == 0, done.output
    stats = json.loads(done.stdout)
    assert stats["entries"] == {"rule": 11, "exemplar": 2} and stats["last_indexed"]
    assert "11 rules, 2 exemplars" in mem_cli("stats").stdout


def test_chroma_url_option_and_envvar_reach_the_settings(mem_cli: Any) -> None:
    done = mem_cli("stats", "--chroma-url", "ftp://nowhere")
    assert isinstance(done.exception, ConfigError) and "Chroma URL" in str(done.exception)
    assert mem_cli.obj.calls[-1]["chroma_url"] == "ftp://nowhere"
    mem_cli("stats", env={"NEWSROOM_CHROMA_URL": "http://127.0.0.1:9/x"})
    assert mem_cli.obj.calls[-1]["chroma_url"] == "http://127.0.0.1:9/x"


@pytest.mark.parametrize("args", [["query", "text", "--k", "0"], ["query", "text", "--kind", "rules"],
                                  ["query"], ["index", "--bogus"]])
def test_bad_usage_exits_2(mem_cli: Any, args: list[str]) -> None:
    assert mem_cli(*args).exit_code == 2


def test_bad_input_raises_config_error(mem_cli: Any, tmp_path: Path) -> None:
    assert isinstance(mem_cli("query", "   ").exception, ConfigError)
    assert isinstance(mem_cli("index", "--knowledge", str(tmp_path)).exception, ConfigError)


def test_categories_match_the_pack() -> None:
    assert cli_memory.CATEGORIES == CATEGORIES


@pytest.mark.slow
def test_style_through_the_newsroom_command(tmp_path: Path, mem_pack_dir: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path / "home"), "NEWSROOM_KNOWLEDGE": str(mem_pack_dir),
           "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    env.pop("NEWSROOM_CHROMA_URL", None)
    newsroom = [sys.executable, "-m", "newsroom.cli", "--workspace", str(tmp_path), "style"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*newsroom, *args], capture_output=True, text=True, env=env, timeout=300)

    indexed = run("index", "--json")
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["added"] == 13 and "indexed in" in indexed.stderr
    queried = run("query", "In conclusion, only time will tell.", "--kind", "rule", "--json")
    assert queried.returncode == 0, queried.stderr
    assert json.loads(queried.stdout)[0]["category"] == "closing" and "was empty" not in queried.stderr
    assert "loading embedder" in queried.stderr
    bad = run("stats", "--chroma-url", "ftp://nowhere")
    assert bad.returncode == 2 and "Chroma URL" in bad.stderr and bad.stdout == ""
