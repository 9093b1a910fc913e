"""The real CLI as a subprocess on the real local model: what CI runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsroom.roi.ledger import RoiLedger

pytestmark = pytest.mark.slow

NEWSROOM = str(Path(sys.executable).parent / "newsroom")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEWSROOM_") and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
    return env


def test_health_passes_offline_with_no_api_keys(tmp_path: Path) -> None:
    proc = subprocess.run([NEWSROOM, "health", "--json"], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} == {"flags", "ledger", "model_file", "provider", "style_store"}
    assert all(c["duration_ms"] >= 0 for c in report["checks"])


# About 2 minutes on 2 quiet cores; a loaded machine can make it ten times slower, hence the margin.
@pytest.mark.timeout(2700)
def test_generate_on_the_local_model_writes_both_files_and_meters_every_call(tmp_path: Path) -> None:
    proc = subprocess.run(
        [NEWSROOM, "generate", "Why cities are planting more trees", "--max-revisions", "0", "--json",
         "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=2600)
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

    review = json.loads(Path(result["review_path"]).read_text())
    assert sum(s["llm_calls"] for s in review["usage_by_stage"].values()) == len(calls)
    assert review["revision_history"] or review["status"] in ("budget_exceeded", "failed")
    if result["status"] != "published":
        assert review["reason"], "an unpublished article must say why"
