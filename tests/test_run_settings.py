"""Which settings a queued run gets on the worker that takes it: the worker's own (workspace,
database, machine) with the submitter's portable ones on top, wherever the worker was started."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.config import Settings
from newsroom.run import Job, settings_for, use_runner_settings


@pytest.fixture
def runner(tmp_path: Path):
    worker = Settings.load(workspace=tmp_path / "worker-ws", database_url="sqlite:///" + str(tmp_path / "w.sqlite"),
                           provider="openai", base_url="http://127.0.0.1:9/v1", local_threads=1)
    use_runner_settings(worker)
    yield worker
    use_runner_settings(None)


def test_a_queued_run_uses_the_workers_workspace_and_database_under_the_jobs_settings(runner: Settings) -> None:
    job = Job(execution_id="r1", topic="t", settings={"provider": "scripted", "max_revisions": 1})
    got = settings_for(job, None)
    assert (got.workspace, got.database_url, got.local_threads) == (runner.workspace, runner.database_url, 1)
    assert (got.provider, got.max_revisions, got.base_url) == ("scripted", 1, runner.base_url)


def test_a_bad_setting_in_a_job_is_a_clear_error(runner: Settings) -> None:
    from newsroom.errors import ConfigError

    with pytest.raises(ConfigError, match="max_revisions"):
        settings_for(Job(execution_id="r2", topic="t", settings={"max_revisions": 99}), None)
