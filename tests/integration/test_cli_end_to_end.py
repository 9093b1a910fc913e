"""The real CLI as a subprocess on the real default local model (Qwen2.5-Coder-1.5B): what CI runs end
to end, and what it checks the model actually wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsroom.evaluation import measure
from newsroom.llm.catalogue import default_model_name
from newsroom.roi.ledger import RoiLedger
from newsroom.style.checker import check_file

pytestmark = pytest.mark.slow

NEWSROOM = str(Path(sys.executable).parent / "newsroom")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEWSROOM_") and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
    env["NEWSROOM_MODELS_DIR"] = os.environ["NEWSROOM_MODELS_DIR"]  # where make setup pulled them
    return env


def test_health_passes_offline_with_no_api_keys(tmp_path: Path) -> None:
    proc = subprocess.run([NEWSROOM, "health", "--json"], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} == {"flags", "database", "ledger", "model_file", "provider",
                                                     "style_store"}
    assert all(c["duration_ms"] >= 0 for c in report["checks"])


# About 6-10 minutes on 2 quiet cores; a loaded machine can make it several times slower, hence the margin.
@pytest.mark.timeout(3000)
def test_generate_on_the_default_model_writes_an_article_and_meters_every_call(tmp_path: Path) -> None:
    proc = subprocess.run(
        [NEWSROOM, "generate", "Why cities are planting more trees", "--max-revisions", "0", "--json",
         "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=2900)
    assert proc.returncode in (0, 3), proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # exactly one JSON document on stdout
    assert result["status"] in ("published", "needs_revision", "rejected", "budget_exceeded", "failed")
    assert Path(result["review_path"]).is_file()
    assert result["article_path"] and Path(result["article_path"]).is_file()
    assert (proc.returncode == 0) == (result["status"] == "published")

    records = RoiLedger(tmp_path / "logs" / "execution_roi.jsonl").read()
    assert not records.skipped_lines
    calls = [r for r in records.records if r["type"] == "llm_call" and r["execution_id"] == result["execution_id"]]
    runs = [r for r in records.records if r["type"] == "run" and r["execution_id"] == result["execution_id"]]
    assert len(calls) == result["usage"]["llm_calls"] > 0
    assert sum(c["input_tokens"] for c in calls) == result["usage"]["input_tokens"]
    assert sum(c["output_tokens"] for c in calls) == result["usage"]["output_tokens"]
    assert len(runs) == 1 and runs[0]["status"] == result["status"]
    assert {c["stage"] for c in calls} <= {"discover", "editorial", "generate", "quality_gate"}
    assert all(c["provider"] == "local" and c["agent"] for c in calls)
    assert {c["model"] for c in calls} == {c["response_model"] for c in calls} == {default_model_name()}

    review = json.loads(Path(result["review_path"]).read_text())
    assert sum(s["llm_calls"] for s in review["usage_by_stage"].values()) == len(calls)
    assert review["revision_history"] or review["status"] in ("budget_exceeded", "failed")
    if result["status"] != "published":
        assert review["reason"], "an unpublished article must say why"

    # What the model wrote: never a loop, an echo of its instructions or a copy of the pack, and never
    # published unless the gate passes it.
    article = Path(result["article_path"]).read_text(encoding="utf-8")
    from newsroom.crews import load_crews, prompt_text
    from newsroom.paths import data_dir
    from newsroom.style.pack import default_pack

    measured = measure(article, topic=result["topic"], prompts=prompt_text(load_crews(data_dir("crews"))),
                       exemplars=tuple(e.text for e in default_pack().exemplars), similarity=None)
    assert measured["max_line_repeats"] <= 2 and measured["echoed_runs"] == 0 and measured["copied_runs"] == 0, measured
    if result["status"] == "published":
        assert check_file(result["article_path"]).passed
