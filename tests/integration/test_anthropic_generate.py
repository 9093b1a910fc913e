"""A whole ``generate`` through the anthropic SDK, against the real llama.cpp server on loopback.

``--provider anthropic --base-url`` points the SDK at the embedded server's Anthropic
``/v1/messages`` endpoint (any key will do). This is the path that failed on every call when the
anthropic SDK 1.0 dropped ``temperature`` from ``messages.create``.

How far the run gets is up to the model: llama.cpp's Anthropic endpoint does not constrain output
for SmolLM2 (its chat template has no tool support, so the forced ``respond`` tool is ignored, and
``response_format`` is not passed through), and the 135M model's JSON is usually invalid. So the
run may end ``failed`` on the model's output; what must hold is that every call reached the server
through the SDK and was metered exactly, and the run was recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsroom.cli import cli
from newsroom.roi.ledger import RoiLedger

pytestmark = pytest.mark.slow


# A couple of minutes on 2 quiet cores with the 135M model; a loaded machine is several times slower.
@pytest.mark.timeout(2700)
def test_generate_through_the_anthropic_sdk_meters_every_call(local_server, workspace: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "dummy-key-for-a-local-server")
    before = local_server.metrics()
    result = CliRunner().invoke(cli, [
        "generate", "Why cities are planting more trees", "--provider", "anthropic", "--base-url",
        local_server.base_url, "--model", "smollm2-local", "--max-revisions", "0", "--flag", "style_memory=off",
        "--json", "--out", str(workspace / "out")])
    after = local_server.metrics()
    assert result.exit_code in (0, 3), result.output[-3000:]
    outcome = json.loads(result.stdout)
    if outcome["status"] == "failed":  # before the fix: "anthropic call failed: TypeError: ... 'temperature'"
        assert "returned invalid" in outcome["reason"], outcome["reason"]
    assert Path(outcome["review_path"]).is_file()

    records = RoiLedger(workspace / "logs" / "execution_roi.jsonl").read()
    calls = [r for r in records.records if r["type"] == "llm_call" and r["execution_id"] == outcome["execution_id"]]
    assert len(calls) == outcome["usage"]["llm_calls"] >= 2
    for call in calls:
        assert call["provider"] == "anthropic" and call["status"] == "ok" and call["attempt"] >= 1, call
        assert call["input_tokens"] > 0 and call["output_tokens"] > 0 and call["duration_ms"] > 0, call
        assert call["cost_usd"] is None, call  # no price for a local model: unknown, never a made-up 0
        assert call["stage"] in {"discover", "editorial", "generate", "quality_gate"} and call["agent"], call
    assert sum(c["input_tokens"] for c in calls) == outcome["usage"]["input_tokens"]
    assert sum(c["output_tokens"] for c in calls) == outcome["usage"]["output_tokens"]
    # The tokens the SDK reported are the server's own counts (nothing else used the server meanwhile).
    prompt = (after["llamacpp:prompt_tokens_total"] - before["llamacpp:prompt_tokens_total"]
              + after["llamacpp:prompt_tokens_cached_total"] - before["llamacpp:prompt_tokens_cached_total"])
    assert sum(c["input_tokens"] for c in calls) == prompt
    assert sum(c["output_tokens"] for c in calls) == (after["llamacpp:tokens_predicted_total"]
                                                      - before["llamacpp:tokens_predicted_total"])
    runs = [r for r in records.records if r["type"] == "run" and r["execution_id"] == outcome["execution_id"]]
    assert len(runs) == 1 and runs[0]["status"] == outcome["status"]
