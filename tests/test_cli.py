from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from newsroom.cli import cli, main
from newsroom.errors import ProviderError
from newsroom.llm.base import ChatRequest
from newsroom.llm.metered import Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger
from newsroom.roi.prices import PriceBook
from newsroom.roi.summary import summarize

HEAVY = {"crewai", "torch", "chromadb"}


def command_paths(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real entry point in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out.out, out.err


@pytest.fixture
def no_style_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """``health`` skips the style-store check (it loads an embedding model; covered by the style tests)."""
    monkeypatch.setitem(sys.modules, "newsroom.style.memory", None)


# -- help and usage ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", list(command_paths()), ids=lambda p: " ".join(p) or "newsroom")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")


def test_the_contract_commands_exist() -> None:
    paths = set(command_paths())
    assert {("health",), ("flags", "list"), ("flags", "get"), ("roi", "summary"), ("roi", "calls")} <= paths


def test_help_exits_zero_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "flags" in out and "roi" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert "0.1.0" in out


@pytest.mark.parametrize("args", [["--no-such-option"], ["flags", "get"], ["no-such-command"],
                                  ["roi", "calls", "--limit", "many"]])
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err and err.strip()


# -- flags ------------------------------------------------------------------------------------
def test_flags_list_json_is_exactly_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "flags", "list", "--json")
    assert code == 0
    assert err == ""
    flags = json.loads(out)  # raises on a second document or stray text
    assert [f["name"] for f in flags] == ["flow_engine", "style_memory", "roi_telemetry", "llm_review",
                                          "budget_guard"]
    assert all(f["value"] is True and f["source"] == "default" for f in flags)


def test_flags_list_layers(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace / "newsroom.toml").write_text('[flags]\nflow_engine = "off"\nstyle_memory = "off"\n')
    monkeypatch.setenv("NEWSROOM_FLAG_STYLE_MEMORY", "on")
    result = CliRunner().invoke(cli, ["flags", "list", "--json", "--flag", "llm_review=off"])
    assert result.exit_code == 0, result.output
    got = {f["name"]: (f["value"], f["source"]) for f in json.loads(result.stdout)}
    assert got["flow_engine"] == (False, "file")
    assert got["style_memory"] == (True, "env")
    assert got["llm_review"] == (False, "cli")
    assert got["budget_guard"] == (True, "default")


def test_flags_list_human(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "flags", "list", "--flag", "llm_review=off")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 5
    assert any(line.startswith("llm_review") and "off" in line and "(cli)" in line for line in lines)


def test_flags_get(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "flags", "get", "budget_guard", "--json")
    assert code == 0
    assert json.loads(out) == {"name": "budget_guard", "value": True, "reason": "DEFAULT", "source": "default"}
    code, out, _ = run(capsys, "flags", "get", "budget_guard", "--flag", "budget_guard=off")
    assert (code, out) == (0, "off\n")


def test_flags_get_rollout_by_execution_id(capsys: pytest.CaptureFixture[str]) -> None:
    values = set()
    for i in range(20):
        code, out, _ = run(capsys, "flags", "get", "llm_review", "--flag", "llm_review=50%",
                           "--execution-id", f"exec-{i}", "--json")
        assert code == 0
        values.add(json.loads(out)["value"])
    assert values == {True, False}


@pytest.mark.parametrize("args", [["flags", "get", "nope"], ["flags", "list", "--flag", "nope=on"],
                                  ["flags", "list", "--flag", "llm_review=sometimes"]])
def test_flag_mistakes_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("newsroom: error: ")


# -- configuration errors ---------------------------------------------------------------------
@pytest.mark.parametrize("args", [["flags", "list"], ["roi", "summary", "--json"]])
def test_malformed_newsroom_toml_exits_2(workspace: Path, capsys: pytest.CaptureFixture[str],
                                         args: list[str]) -> None:
    (workspace / "newsroom.toml").write_text("provider = [unclosed\n")
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "newsroom.toml" in err and "Traceback" not in err


def test_workspace_option_points_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "newsroom.toml").write_text('[flags]\nllm_review = "off"\n')
    code, out, _ = run(capsys, "--workspace", str(other), "flags", "get", "llm_review")
    assert (code, out) == (0, "off\n")


# -- health (never with the local provider here: that starts the real model) -------------------
def test_health_unknown_provider(capsys: pytest.CaptureFixture[str], no_style_store: None) -> None:
    code, out, err = run(capsys, "health", "--provider", "foo")
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "'foo'" in err and "openai" in err and "Traceback" not in err


def test_health_openai_without_a_key(capsys: pytest.CaptureFixture[str], no_style_store: None) -> None:
    code, out, err = run(capsys, "health", "--provider", "openai", "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False
    provider = next(c for c in report["checks"] if c["name"] == "provider")
    assert provider["ok"] is False and "OPENAI_API_KEY" in provider["detail"]
    assert len(err.splitlines()) == 1
    assert "OPENAI_API_KEY" in err and "Traceback" not in err


def test_health_unreachable_base_url(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                     no_style_store: None) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123")
    code, _, err = run(capsys, "health", "--provider", "openai", "--base-url", "http://127.0.0.1:9")
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "127.0.0.1:9" in err and "Traceback" not in err
    assert "sk-test-not-a-real-key-123" not in err


def test_health_checks_the_database_and_never_shows_its_password(capsys: pytest.CaptureFixture[str],
                                                                  no_style_store: None) -> None:
    code, out, _ = run(capsys, "--database-url", "postgresql://news:s3cret-pw@127.0.0.1:9/db", "health",
                       "--provider", "openai", "--json")
    report = json.loads(out)
    database = next(c for c in report["checks"] if c["name"] == "database")
    assert code == 2 and database["ok"] is False and "cannot open the database" in database["detail"]
    assert "s3cret-pw" not in out and "127.0.0.1:9" in database["detail"]


@pytest.mark.parametrize("args", [("runs", "list"), ("runs", "show", "abc"), ("runs", "cancel", "abc")])
def test_runs_on_an_unreachable_database_say_why_without_the_password(capsys: pytest.CaptureFixture[str],
                                                                      args: tuple[str, ...]) -> None:
    code, out, err = run(capsys, "--database-url", "postgresql://news:s3cret-pw@127.0.0.1:9/db", *args)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "Connection refused" in err and "s3cret-pw" not in err and "Traceback" not in err


# -- roi --------------------------------------------------------------------------------------
@pytest.fixture
def ledger(ledger_path: Path) -> list[dict[str, Any]]:
    """A ledger of two runs written by Metered + ScriptedModel."""
    prices = PriceBook({"scripted": {"input": 1.0, "output": 2.0}})
    first = Metered(ScriptedModel(["a" * 40, ProviderError("busy", retryable=True), "b" * 80]),
                    RoiLedger(ledger_path), execution_id="run-one", prices=prices, sleep=lambda _s: None)
    first.complete(ChatRequest.of("x" * 400), stage="discover", agent="scout")
    first.complete(ChatRequest.of("x" * 800), stage="draft", agent="writer")
    first.finish("published", topic="tides")
    second = Metered(ScriptedModel(["c" * 4], model_name="mystery"), RoiLedger(ledger_path),
                     execution_id="run-two", prices=prices)
    second.complete(ChatRequest.of("x" * 40), stage="draft", agent="writer")
    return RoiLedger(ledger_path).read().records


def test_roi_summary_json(ledger: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "roi", "summary", "--json")
    assert code == 0 and err == ""
    summary = json.loads(out)
    assert summary == json.loads(json.dumps(summarize(ledger)))
    total = summary["total"]
    assert (total["calls"], total["failures"]) == (4, 1)
    assert (total["input_tokens"], total["output_tokens"]) == (310, 31)
    assert total["cost_usd"] is None  # run-two's model has no price
    assert summary["runs"]["run-one"]["cost_usd"] == pytest.approx((300 * 1.0 + 30 * 2.0) / 1e6)
    assert summary["runs"]["run-one"]["status"] == "published"
    assert set(summary["stages"]) == {"discover", "draft"}
    assert set(summary["models"]) == {"scripted/scripted", "scripted/mystery"}


def test_roi_summary_human(ledger: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "roi", "summary")
    assert code == 0
    assert "4 calls (1 failed)" in out
    assert "cost unknown" in out
    assert "run-one" in out and "discover" in out


def test_roi_calls_json_for_one_execution(ledger: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "roi", "calls", "--json", "--execution-id", "run-one")
    assert code == 0
    calls = json.loads(out)
    assert [(c["stage"], c["attempt"], c["status"]) for c in calls] == [
        ("discover", 1, "ok"), ("draft", 1, "error"), ("draft", 2, "ok")]
    assert all(c["type"] == "llm_call" and c["execution_id"] == "run-one" for c in calls)

    code, out, _ = run(capsys, "roi", "calls", "--json", "--limit", "1")
    assert [c["execution_id"] for c in json.loads(out)] == ["run-two"]
    code, out, _ = run(capsys, "roi", "calls", "--json", "--execution-id", "nobody")
    assert json.loads(out) == []


@pytest.mark.parametrize("limit", ["0", "-2", "x"])
def test_roi_calls_limit_below_one_is_bad_usage(ledger: list[dict[str, Any]], capsys: pytest.CaptureFixture[str],
                                                limit: str) -> None:
    """``--limit 0`` used to list every call and ``--limit -2`` to drop the first two."""
    code, out, err = run(capsys, "roi", "calls", "--json", "--limit", limit)
    assert code == 2 and out == ""
    assert "Invalid value for '--limit'" in err and (limit == "x" or f"{limit} is not in the range x>=1" in err)
    code, out, _ = run(capsys, "roi", "calls", "--json", "--limit", "3")
    assert code == 0 and len(json.loads(out)) == 3


def test_roi_calls_human(ledger: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "roi", "calls")
    assert code == 0
    assert len(out.splitlines()) == 4


def test_roi_on_a_torn_ledger_warns_on_stderr_only(ledger: list[dict[str, Any]], ledger_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with ledger_path.open("ab") as fh:
        fh.write(b'{"type":"llm_call","execution_id":"run-thr')
    code, out, err = run(capsys, "roi", "summary", "--json")
    assert code == 0
    assert json.loads(out)["total"]["calls"] == 4
    assert "skipped 1 unreadable ledger line" in err


def test_roi_summary_of_an_empty_workspace(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, out, _ = run(capsys, "roi", "summary", "--json")
    assert code == 0
    assert json.loads(out)["total"]["calls"] == 0
    assert not (workspace / "logs" / "execution_roi.jsonl").exists()


# -- one real process -------------------------------------------------------------------------
def test_the_installed_command_starts_without_heavy_imports(workspace: Path) -> None:
    exe = Path(sys.executable).parent / "newsroom"
    assert exe.exists(), f"{exe} missing: run make setup"
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    for args in (["flags", "list", "--json"], ["--help"]):
        proc = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=workspace,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "newsroom.cli" in imported  # the profile really covers the command's imports
        assert {name.split(".")[0] for name in imported} & HEAVY == set(), args
        if args[0] == "flags":
            assert len(json.loads(proc.stdout)) == 5
        else:
            assert proc.stdout.startswith("Usage: newsroom")
