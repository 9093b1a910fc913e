"""A queued run writes into the worker's workspace even when its articles/ does not exist yet.

``submit`` without ``--out`` sends no directory with the job: the worker that takes it (a fresh
machine, say) writes under its own workspace. The directory used to be created only by
``generate``/``batch`` before the run, so every such queued run failed at the end with
``No such file or directory``, after paying for all its calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.llm.scripted import ScriptedModel
from newsroom.run import Job, Live, execute
from tests.stages.conftest import CLEAN_SECTIONS, script, scripted_settings

pytestmark = pytest.mark.slow


def test_a_job_without_out_dir_writes_under_a_fresh_workspace(workspace: Path) -> None:
    assert not (workspace / "articles").exists()
    job = Job(execution_id="queued-0001", topic="battery recycling")
    result = execute(job, Live(settings=scripted_settings(workspace),
                               model=ScriptedModel(default=script([CLEAN_SECTIONS]))))
    assert result.status == "published", result.reason
    assert Path(result.article_path).parent == (workspace / "articles").resolve()
    assert Path(result.article_path).read_text().startswith("---")
