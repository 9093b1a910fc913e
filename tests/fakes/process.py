"""``newsroom`` as a real subprocess of a test: this checkout's code, its own HOME and workspace, no
``NEWSROOM_*`` from the caller, nothing phoning home, and a key for the fake provider."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def base_env(home: Path, workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
    env.update(PYTHONPATH=f"{REPO / 'src'}:{REPO}", HOME=str(home), NEWSROOM_WORKSPACE=str(workspace),
               CREWAI_STORAGE_DIR=str(home / "crewai"), OPENAI_API_KEY="sk-fake-test-key",
               CREWAI_DISABLE_TELEMETRY="true", CREWAI_DISABLE_VERSION_CHECK="true",
               CREWAI_TRACING_ENABLED="false", OTEL_SDK_DISABLED="true", ANONYMIZED_TELEMETRY="False",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    home.mkdir(parents=True, exist_ok=True)
    workspace.mkdir(parents=True, exist_ok=True)
    return env


def newsroom(*args: str) -> list[str]:
    """The command line of ``newsroom ARGS`` run from this checkout."""
    return [sys.executable, "-m", "newsroom.cli", *args]
