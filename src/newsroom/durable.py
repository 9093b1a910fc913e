"""The one durable primitive the stages use: run a piece of a run as a DBOS step.

A step's result is recorded in the database; when DBOS re-executes a workflow (after a crash, or to
resume it), a finished step returns its recorded result without running, and the step that was in
flight runs again, its paid calls replayed from the ledger (``llm/replay.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dbos import DBOS

from newsroom.llm.replay import in_step

T = TypeVar("T")


def step(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` as the durable step ``name`` of the current workflow; calls made in it are keyed
    by ``name``. Outside a workflow (a unit test of one stage) it simply runs."""

    def body() -> T:
        with in_step(name):
            return fn()

    if DBOS.workflow_id is None:
        return body()
    return DBOS.run_step({"name": name}, body)


def cancelled(execution_id: str) -> bool:
    """Whether the run was cancelled: checked before each model call, so a long step stops promptly."""
    if DBOS.workflow_id is None:
        return False
    found = DBOS.get_workflow_status(execution_id)
    return found is not None and found.status == "CANCELLED"
