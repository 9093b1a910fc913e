"""Durable runs on DBOS Transact: every run is a workflow, each of its stages a step.

A finished step is never run again; the step a process died in runs again from its start, and the
LLM calls it had already paid for replay from the ledger (``llm/replay.py``). The state lives in
one database (``newsroom.store``): a SQLite file in the workspace by default, or Postgres shared by
workers on many machines. ``generate`` runs its workflow in its own process; ``submit`` enqueues
runs on ``QUEUE``; ``worker`` (and ``batch``, and ``serve --workers-in-process``) dequeue them.

Processes that are not workers listen to no queue but DBOS's internal one, so a ``generate`` never
picks up someone else's queued run. Workers keep a heartbeat in the database; a worker that stops
beating for ``STALE_S`` (killed, its machine gone) has its unfinished runs handed to the queue again
by whichever live worker notices first (``newsroom worker --stale-after``, env
``NEWSROOM_WORKER_STALE_S``; every worker on a database should use the same value).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, SetWorkflowID

from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.run import ArticleResult, Job, Live, execute, use_runner_settings
from newsroom.store import engine as db_engine
from newsroom.store import normalise, redact_url, workers

log = logging.getLogger(__name__)
APP = "newsroom"
# Recovery and dequeueing match on it: bump it when the workflow's sequence of steps changes.
VERSION = "newsroom-runs-1"
WORKFLOW = "newsroom.article"
QUEUE = "newsroom-runs"
STALE_S = 30.0
BEAT_S = 5.0

_live: dict[str, Live] = {}
_guard = threading.Lock()
_launched: dict[str, str] = {}  # "url", "executor", "role"


@DBOS.workflow(name=WORKFLOW)
def article_workflow(job: dict[str, Any]) -> dict[str, Any]:
    parsed = Job.model_validate(job)
    with _guard:
        live = _live.get(parsed.execution_id)
    return execute(parsed, live).model_dump(mode="json")


def _dbos_url(url: str) -> str:
    return url if url.startswith("sqlite:") else normalise(url)


def launch(settings: Settings, *, role: str = "cli", executor_id: str | None = None,
           concurrency: int | None = None) -> None:
    """Start DBOS on the settings' database, once per process. ``role="worker"`` dequeues runs from
    ``QUEUE`` (``concurrency`` at a time); any other role listens to no queue of ours."""
    url = settings.db_url
    with _guard:
        if _launched and _launched["url"] != url:
            raise ConfigError(f"this process already runs on {redact_url(_launched['url'])!r}; one database per "
                              "process (start another process for another workspace or --database-url)")
        if _launched and (_launched["role"] == role or role != "worker"):
            return
    if _launched:  # becoming a worker: start again listening to the queue (nothing of ours is in flight)
        shutdown(0)
    with _guard:
        db_engine(url)  # our tables, and a clear error when the database cannot be reached
        logging.getLogger("dbos").addHandler(logging.NullHandler())  # the library prints nothing
        executor = executor_id or f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        DBOS(config={"name": APP, "system_database_url": _dbos_url(url), "application_version": VERSION,
                     "executor_id": executor, "log_level": "WARNING", "run_migrations": True})
        DBOS.listen_queues([QUEUE] if role == "worker" else [])
        try:
            DBOS.launch()
        except Exception as exc:
            DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=0)
            raise ConfigError(f"cannot start the run engine on {redact_url(url)!r}: {type(exc).__name__}: {exc}") \
                from None
        if role == "worker":
            DBOS.register_queue(QUEUE, worker_concurrency=concurrency or 1, polling_interval_sec=0.5)
        _launched.update(url=url, executor=executor, role=role)


def shutdown(wait_s: float = 0.0) -> None:
    """Stop DBOS in this process (tests, and a worker's last act); runs still going stay PENDING."""
    with _guard:
        if not _launched:
            return
        DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=int(wait_s))
        _launched.clear()


def executor_id() -> str | None:
    return _launched.get("executor")


def register_live(execution_id: str, live: Live) -> None:
    with _guard:
        _live[execution_id] = live


def forget_live(execution_id: str) -> None:
    with _guard:
        _live.pop(execution_id, None)


def run_here(settings: Settings, job: Job, live: Live) -> ArticleResult:
    """Run ``job`` as a workflow in this thread (``generate``, the API) and return its result."""
    launch(settings)
    register_live(job.execution_id, live)
    try:
        with SetWorkflowID(job.execution_id):
            return ArticleResult.model_validate(article_workflow(job.model_dump(mode="json")))
    finally:
        forget_live(job.execution_id)


def status_of(execution_id: str) -> tuple[str, dict[str, Any] | None]:
    """DBOS's status of a run and its recorded result (None until it finishes)."""
    found = DBOS.get_workflow_status(execution_id)
    if found is None:
        raise ConfigError(f"no run with execution id {execution_id!r} in this database; check the id "
                          "(newsroom runs list) and --workspace / --database-url")
    output = found.output if isinstance(found.output, dict) else None
    return str(found.status), output


FINISHED = ("published", "rejected", "needs_revision")


def resume(settings: Settings, execution_id: str, live: Live) -> ArticleResult:
    """Continue a run that was killed, stopped on its budget, failed or was cancelled: finished steps
    are not run again, and the calls the unfinished step had paid for replay from the ledger."""
    launch(settings)
    status, output = status_of(execution_id)
    if status == "SUCCESS" and output and output.get("status") in FINISHED:
        raise ConfigError(f"execution {execution_id!r} already finished as {output['status']!r}; nothing to resume")
    register_live(execution_id, live)
    try:
        if status in ("PENDING", "ENQUEUED"):
            handle = DBOS.resume_workflow(execution_id)
        else:  # it ended (budget, failure, cancellation): rewind to the step that did not finish
            handle = DBOS.rewind_workflow(execution_id, start_step=_first_unfinished(execution_id))
        return ArticleResult.model_validate(handle.get_result())
    finally:
        forget_live(execution_id)


def _first_unfinished(execution_id: str) -> int:
    steps = DBOS.list_workflow_steps(execution_id)
    for s in steps:
        if s.get("error") is not None or s.get("function_name") in ("claim", "outputs"):
            return int(s["function_id"])
    return (max((int(s["function_id"]) for s in steps), default=0)) + 1


# -- queued runs --------------------------------------------------------------------------------
def submit(settings: Settings, jobs: list[Job]) -> list[str]:
    """Enqueue ``jobs`` on ``QUEUE`` for any worker on the same database."""
    launch(settings)
    ids = []
    for job in jobs:
        with SetWorkflowID(job.execution_id):
            DBOS.enqueue_workflow(QUEUE, article_workflow, job.model_dump(mode="json"))
        ids.append(job.execution_id)
    return ids


def beat(url: str, executor: str) -> None:
    now = time.time()
    with db_engine(url).begin() as conn:
        updated = conn.execute(workers.update().where(workers.c.executor_id == executor).values(seen=now)).rowcount
        if not updated:
            conn.execute(workers.insert().values(executor_id=executor, host=socket.gethostname(), pid=os.getpid(),
                                                 started=now, seen=now))


def adopt_orphans(url: str, me: str, stale_s: float = STALE_S) -> list[str]:
    """Hand the unfinished runs of workers that stopped beating ``stale_s`` ago back to the queue;
    returns their ids.

    The stale worker's row is deleted first, by one statement: whichever live worker deletes it does
    the handing back, so two workers never hand back the same runs."""
    taken: list[str] = []
    with db_engine(url).begin() as conn:
        stale = [r.executor_id for r in conn.execute(sa.select(workers.c.executor_id).where(
            workers.c.seen < time.time() - stale_s, workers.c.executor_id != me))]
    for dead in stale:
        with db_engine(url).begin() as conn:
            if not conn.execute(workers.delete().where(workers.c.executor_id == dead,
                                                       workers.c.seen < time.time() - stale_s)).rowcount:
                continue
        for w in DBOS.list_workflows(status="PENDING", executor_id=dead, load_input=False, load_output=False):
            DBOS.resume_workflow(w.workflow_id, queue_name=QUEUE)
            taken.append(w.workflow_id)
    if taken:
        log.warning("handed back %d run(s) of stopped workers: %s", len(taken), ", ".join(taken))
    return taken


def hand_back(url: str, me: str) -> list[str]:
    """The runs this (stopped) worker left unfinished go back to the queue for another worker; works
    after DBOS is destroyed, through a client of the database."""
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=_dbos_url(url), application_name=APP)
    try:
        mine = client.list_workflows(status="PENDING", executor_id=me, load_input=False, load_output=False)
        for w in mine:
            client.resume_workflow(w.workflow_id, queue_name=QUEUE)
    finally:
        client.destroy()
    with db_engine(url).begin() as conn:
        conn.execute(workers.delete().where(workers.c.executor_id == me))
    return [w.workflow_id for w in mine]


def work(settings: Settings, *, concurrency: int, stop: threading.Event, executor: str | None = None,
         drain_s: float = 30.0, stale_s: float = STALE_S, on_beat: Callable[[], None] | None = None) -> list[str]:
    """Run queued runs until ``stop`` is set; then stop dequeuing, let running runs finish for up to
    ``drain_s`` and hand the rest back to the queue. Returns the ids handed back: the caller must then
    exit (a run handed back is another worker's now, while its thread here may still be going).
    Meanwhile it beats every ``BEAT_S`` and adopts the runs of workers silent for ``stale_s``."""
    if stale_s < 2 * BEAT_S:
        raise ConfigError(f"a worker is stale after {stale_s!r} s, less than two heartbeats ({2 * BEAT_S:g} s): "
                          "live workers would lose their runs; set --stale-after / NEWSROOM_WORKER_STALE_S higher")
    launch(settings, role="worker", executor_id=executor, concurrency=concurrency)
    use_runner_settings(settings)
    me, url = _launched["executor"], settings.db_url
    while not stop.is_set():
        beat(url, me)
        adopt_orphans(url, me, stale_s)
        if on_beat is not None:
            on_beat()
        stop.wait(BEAT_S)
    shutdown(drain_s)  # stops dequeuing, waits for the runs in flight
    return hand_back(url, me)
