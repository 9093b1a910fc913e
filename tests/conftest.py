"""Shared fixtures: every test runs in its own workspace, with its own HOME and no NEWSROOM_* settings.

Isolation is automatic (``_isolate`` is autouse): cwd is a fresh workspace under ``tmp_path``,
``HOME`` points at a temp dir (crewAI and friends write under it), and every ``NEWSROOM_*`` variable
and API key from the developer's shell is removed, so a test sees only what it sets itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsroom.config import Settings
from newsroom.llm.catalogue import models_dir
from newsroom.llm.crewai_adapter import OFFLINE_ENV
from newsroom.llm.metered import Metered
from newsroom.llm.scripted import ScriptedModel
from newsroom.roi.ledger import RoiLedger
from newsroom.roi.prices import PriceBook

# Set before anything imports crewAI or Hugging Face libraries: tests never phone home.
for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)

_SECRETS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")

EXECUTION_ID = "exec-test-0001"
# Where `make setup` pulled the local models, read before each test moves HOME: tests read them there.
MODELS_DIR = models_dir()


@pytest.fixture(autouse=True)
def _engine_per_test() -> Iterator[None]:
    """Each test's runs use its own workspace's database: the run engine (DBOS, one per process) is
    stopped after a test that started it."""
    yield
    if "newsroom.engine" in sys.modules:
        sys.modules["newsroom.engine"].shutdown()


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    ws = tmp_path / "workspace"
    home.mkdir()
    ws.mkdir()
    for name in list(os.environ):
        if name.startswith("NEWSROOM_") or name in _SECRETS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NEWSROOM_MODELS_DIR", str(MODELS_DIR))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(home / "crewai"))
    monkeypatch.chdir(ws)
    return ws


@pytest.fixture
def workspace(_isolate: Path) -> Path:
    """The test's workspace directory (also the current directory)."""
    return _isolate


@pytest.fixture
def settings(workspace: Path) -> Settings:
    """Settings for the scripted provider in the test workspace."""
    return Settings.load(workspace=workspace, provider="scripted")


@pytest.fixture
def ledger_path(settings: Settings) -> Path:
    """Where the workspace's ROI ledger lives (``logs/execution_roi.jsonl``); not created yet."""
    return settings.ledger_path


@pytest.fixture
def scripted_model() -> ScriptedModel:
    """An empty scripted model: enqueue the replies a test expects (an unplanned call fails)."""
    return ScriptedModel()


@pytest.fixture
def sleeps() -> list[float]:
    """The back-off delays a ``metered`` fixture would have slept (it never really sleeps)."""
    return []


@pytest.fixture
def metered(scripted_model: ScriptedModel, ledger_path: Path, settings: Settings,
            sleeps: list[float]) -> Iterator[Metered]:
    """``scripted_model`` behind ``Metered``, writing to ``ledger_path``, with a no-op back-off."""
    ledger = RoiLedger(ledger_path)
    yield Metered(scripted_model, ledger, execution_id=EXECUTION_ID, prices=PriceBook(settings.prices),
                  max_retries=settings.max_retries, sleep=sleeps.append)
    ledger.close()
