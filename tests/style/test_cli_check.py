"""``newsroom check``: in-process with CliRunner on the command object, and once as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from newsroom.errors import ConfigError
from newsroom.style.cli_check import check

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLE = FIXTURES / "article_ok.md"
BAD = "In today's fast-paced world, experts say sales rose.\n\nIt was a game-changer!\n\nIn conclusion, done.\n"
CONTRACT_ENTRY = {"file", "passed", "score", "violations"}
CONTRACT_VIOLATION = {"rule_id", "category", "severity", "line", "excerpt", "message", "suggestion"}


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.md"
    path.write_text(BAD, encoding="utf-8")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_passing_article_exits_0_with_a_header_line(runner: CliRunner) -> None:
    result = runner.invoke(check, [str(ARTICLE)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{ARTICLE}: passed (score 1.00; 0 violation(s))"


def test_failing_file_exits_3_with_one_line_per_violation(runner: CliRunner, bad_file: Path) -> None:
    result = runner.invoke(check, ["--fragment", str(bad_file)])
    assert result.exit_code == 3, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"{bad_file}: FAILED (score ")
    assert f"{bad_file}:1 [high] opening.throat-clearing: throat-clearing opening 'In today's fast-paced world' (" \
        in result.output
    assert f"{bad_file}:5 [high] closing.weak-ending: " in result.output
    for line in lines[1:]:
        assert line.startswith(f"{bad_file}:") and " [" in line and line.endswith(")"), line


def test_json_is_one_document_in_the_contract_shape(runner: CliRunner, bad_file: Path) -> None:
    result = runner.invoke(check, ["--fragment", "--json", str(bad_file), str(ARTICLE)])
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert [entry["file"] for entry in data] == [str(bad_file), str(ARTICLE)]
    for entry in data:
        assert set(entry) == CONTRACT_ENTRY
        for v in entry["violations"]:
            assert set(v) == CONTRACT_VIOLATION
            assert v["severity"] in ("critical", "high", "medium", "low") and isinstance(v["line"], int)
    assert data[1] == {"file": str(ARTICLE), "passed": True, "score": 1.0, "violations": []}
    found = {v["category"] for v in data[0]["violations"]}
    assert {"opening", "attribution", "cliche", "punctuation", "closing"} <= found


def test_fragment_skips_structure_and_front_matter(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "fragment.md"
    path.write_text("The central bank raised rates on Thursday, its governor said.\n", encoding="utf-8")
    assert runner.invoke(check, ["--fragment", str(path)]).exit_code == 0
    full = runner.invoke(check, ["--json", str(path)])
    assert full.exit_code == 3
    assert {"structure", "front_matter"} <= {v["category"] for v in json.loads(full.output)[0]["violations"]}


def test_stdin_is_read_for_a_dash(runner: CliRunner) -> None:
    result = runner.invoke(check, ["--fragment", "--json", "-"], input="The colour was grey. TODO\n")
    assert result.exit_code == 3
    (entry,) = json.loads(result.output)
    assert entry["file"] == "<stdin>" and entry["violations"][0]["rule_id"] == "placeholder.markers"


def test_knowledge_option_uses_another_pack(runner: CliRunner, tmp_path: Path, bad_file: Path) -> None:
    rules = [{"id": "meta.only", "category": "meta", "severity": "low", "kind": "existence",
              "description": "Only this phrase matters here.", "suggestion": "Cut it.", "patterns": ["done"]}]
    (tmp_path / "pack" / "rules").mkdir(parents=True)
    (tmp_path / "pack" / "rules" / "r.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = runner.invoke(check, ["--fragment", "--json", "--knowledge", str(tmp_path / "pack"), str(bad_file)])
    assert result.exit_code == 0
    assert [v["rule_id"] for v in json.loads(result.output)[0]["violations"]] == ["meta.only"]
    env = runner.invoke(check, ["--fragment", str(bad_file)], env={"NEWSROOM_KNOWLEDGE": str(tmp_path / "pack")})
    assert env.exit_code == 0 and "meta.only" in env.output


def test_bad_knowledge_dir_is_a_config_error(runner: CliRunner, bad_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(check, ["--knowledge", str(tmp_path / "nope"), str(bad_file)])
    assert isinstance(result.exception, ConfigError) and result.exception.exit_code == 2
    assert "not a house-style pack" in str(result.exception)


@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"\x00\x01binary", "binary"),
    (b"\xff\xfe\xfa not utf-8", "not UTF-8"),
    (b"x" * (5 * 1024 * 1024), "MB"),
])
def test_unreadable_file_is_a_config_error(runner: CliRunner, tmp_path: Path, content: bytes | None,
                                           expected: str) -> None:
    path = tmp_path / "input.md"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(check, [str(path)])
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.exit_code == 2 and expected in str(result.exception)
    assert result.output == ""


def test_one_unreadable_file_among_several(runner: CliRunner, bad_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(check, ["--json", "--fragment", str(ARTICLE), str(tmp_path / "missing.md"),
                                   str(bad_file)])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith("1 of 3 files not checked: ")
    assert "missing.md" in str(result.exception)
    assert [e["file"] for e in json.loads(result.output)] == [str(ARTICLE), str(bad_file)]


def test_help_describes_the_exit_codes(runner: CliRunner) -> None:
    result = runner.invoke(check, ["--help"])
    assert result.exit_code == 0
    assert "--fragment" in result.output and "--json" in result.output and "--knowledge" in result.output


def test_no_file_is_a_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(check, []).exit_code == 2


# -- as a real process ---------------------------------------------------------------------------------------
def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "NEWSROOM_WORKSPACE": str(tmp_path)}


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=_env(tmp_path), timeout=120, cwd=tmp_path)


def test_main_entry_point_exit_codes_in_a_subprocess(tmp_path: Path, bad_file: Path) -> None:
    """The real ``newsroom.cli.main`` error handling, with the command attached as the lead will."""
    wrapper = ("import sys; from newsroom.cli import cli, main; from newsroom.style.cli_check import check; "
               "cli.commands.setdefault('check', check); main(sys.argv[1:])")
    base = [sys.executable, "-c", wrapper, "check"]
    ok = _run([*base, str(ARTICLE)], tmp_path)
    assert ok.returncode == 0, ok.stderr
    failed = _run([*base, "--fragment", "--json", str(bad_file)], tmp_path)
    assert failed.returncode == 3 and json.loads(failed.stdout)[0]["passed"] is False
    missing = _run([*base, str(tmp_path / "nope.md")], tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr


def _registered() -> bool:
    from newsroom.cli import cli

    return "check" in cli.commands


@pytest.mark.skipif(not _registered(), reason="`check` is not yet registered on newsroom.cli.cli "
                                              "(the lead adds cli.add_command(check))")
def test_the_installed_newsroom_check_command(tmp_path: Path, bad_file: Path) -> None:
    exe = shutil.which("newsroom", path=str(Path(sys.executable).parent)) or "newsroom"
    ok = _run([exe, "check", str(ARTICLE)], tmp_path)
    assert ok.returncode == 0, ok.stderr
    failed = _run([exe, "check", "--fragment", "--json", str(bad_file)], tmp_path)
    assert failed.returncode == 3
    assert set(json.loads(failed.stdout)[0]) == CONTRACT_ENTRY
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\x00\x00")
    bad = _run([exe, "check", str(binary)], tmp_path)
    assert bad.returncode == 2 and "binary" in bad.stderr and bad.stderr.count("\n") == 1
