"""What every stage receives: the metered model, the crews, the flow config and the style memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from newsroom.config import Settings
from newsroom.crews import CrewSpec
from newsroom.datafiles import load_yaml_model
from newsroom.errors import ConfigError
from newsroom.llm.metered import Metered


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    role: str
    weight: float = Field(gt=0)
    focus: str


class DiscoverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    candidates: int = Field(default=3, ge=1, le=8)
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(
        ("timeliness", "evidence", "contrarian", "audience_fit", "style_fit"), 1.0))
    published_similarity: dict[str, float] = Field(default_factory=lambda: {"drop_at": 0.92, "flag_at": 0.8})
    # One lens per call, so a small model's angles differ (it repeats itself when only told "a new one").
    lenses: list[str] = Field(default_factory=lambda: ["what it costs and who pays", "who gains and who loses",
                                                       "what the evidence shows so far"], min_length=1)


class EditorialConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_sections: int = Field(default=2, ge=1)
    max_sections: int = Field(default=4, le=5)
    board: list[Persona] = Field(min_length=3)


class Degeneration(BaseModel):
    """When the writer drafts a section again (see ``stages/sections.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_words_share: float = Field(default=0.5, ge=0, le=1)
    max_words_share: float = Field(default=1.8, ge=1)
    near_duplicate: float = Field(default=0.8, gt=0, le=1)
    min_distinct_3: float = Field(default=0.85, ge=0, le=1)
    echo_words: int = Field(default=6, ge=3)
    copy_words: int = Field(default=12, ge=3)
    min_topic_similarity: float = Field(default=0.25, ge=-1, le=1)


class GenerateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    article_words: int = Field(default=780, ge=100)
    words_per_paragraph: int = Field(default=85, ge=20)
    tokens_per_word: float = Field(default=2.2, ge=1)
    style_rules: int = Field(default=2, ge=0)
    exemplars: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    source_chunks: int = Field(default=4, ge=0, le=20)
    degeneration: Degeneration = Degeneration()


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_revisions: int = Field(default=2, ge=0, le=10)
    min_editor_score: float = Field(default=0.75, ge=0, le=1)
    rules_per_section: int = Field(default=0, ge=0)


class FlowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "article"
    stages: list[str]
    discover: DiscoverConfig = DiscoverConfig()
    editorial: EditorialConfig
    generate: GenerateConfig = GenerateConfig()
    quality_gate: GateConfig = GateConfig()


def load_flow(directory: Path, name: str = "article") -> FlowConfig:
    path = directory / f"{name}.yaml"
    config = load_yaml_model(path, FlowConfig, what="flow definition", option="--flows")
    expected = ["discover", "editorial", "generate", "quality_gate"]
    if config.stages != expected:
        raise ConfigError(f"{path}: stages must be {expected} (got {config.stages})")
    return config


class StyleLookup(Protocol):
    """Style memory as the stages use it; implementations degrade instead of raising."""

    def rules_for(self, text: str, k: int) -> list[dict[str, Any]]: ...
    def exemplars_for(self, text: str, k: int) -> list[dict[str, Any]]: ...
    def nearest_published(self, text: str) -> tuple[str, float] | None: ...
    def add_published(self, article_id: str, title: str, text: str) -> None: ...
    def close(self) -> None: ...


class Progress(Protocol):
    def stage(self, name: str, revision: int, metered: Metered) -> None: ...
    def done(self, name: str, metered: Metered) -> None: ...


class NoProgress:
    def stage(self, name: str, revision: int, metered: Metered) -> None:
        return None

    def done(self, name: str, metered: Metered) -> None:
        return None


@dataclass
class StageContext:
    settings: Settings
    metered: Metered
    crews: dict[str, CrewSpec]
    flow: FlowConfig
    flags: dict[str, bool]
    style: StyleLookup | None = None
    progress: Progress = field(default_factory=NoProgress)
    today: Callable[[], str] = field(default_factory=lambda: lambda: time.strftime("%Y-%m-%d"))
    notes: list[str] = field(default_factory=list)
    # MiniLM cosine similarity of two texts, when the embedder is available (the off-topic checks).
    similarity: Callable[[str, str], float] | None = None
    prompts: tuple[str, ...] = ()  # the fixed text of every prompt the crews send (the echo checks)
    pack: Any = None  # the house-style pack (``style.pack.Pack``) the gate checks against
    research: Any = None  # the run's sources, chunked and embedded (``stages.research.SourceIndex``)
