"""Run checkpoints: the flow state saved after every step, so ``generate --resume ID`` continues
where a killed or stopped run left off without repeating the calls it already paid for."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ValidationError

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.outputs import write_atomic
from newsroom.pipeline import ArticleState
from newsroom.roi.records import now_iso

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FINISHED = ("published", "rejected", "needs_revision")


class Checkpoint(BaseModel):
    version: int = 1
    updated: str = ""
    out_dir: str
    sources: str | None = None
    state: ArticleState


def path_for(settings: Settings, execution_id: str) -> Path:
    if not _ID.match(execution_id):
        raise ConfigError(f"execution id {execution_id!r} is not valid (letters, digits, '-' and '_' only)")
    return settings.state_dir / "runs" / f"{execution_id}.json"


def save(settings: Settings, checkpoint: Checkpoint) -> None:
    checkpoint.updated = now_iso()
    write_atomic(path_for(settings, checkpoint.state.execution_id), checkpoint.model_dump_json(indent=1))


def load(settings: Settings, execution_id: str) -> Checkpoint:
    """The checkpoint of a run that can be resumed; anything else is a ``ConfigError`` saying why."""
    path = path_for(settings, execution_id)
    if not path.is_file():
        raise ConfigError(f"no checkpoint for execution {execution_id!r} in {str(path.parent)!r}; "
                          "check the id (newsroom roi summary lists past runs) and --workspace")
    try:
        checkpoint = Checkpoint.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise ConfigError(f"checkpoint {str(path)!r} is damaged ({str(exc).splitlines()[0]}); "
                          "start a new run") from None
    if checkpoint.state.status in FINISHED:
        raise ConfigError(f"execution {execution_id!r} already finished as {checkpoint.state.status!r}; "
                          "nothing to resume")
    return checkpoint
