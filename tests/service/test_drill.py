"""The rollback drill: blue and green servers on one database (SQLite, or Postgres with green in a
workspace of its own, as on another machine), blue stopped mid-run.

Green runs with ``NEWSROOM_FLAG_FLOW_ENGINE=off`` (the in-process rollback: the same stages as a
plain sequence). Blue is stopped with SIGTERM and ``--drain 0``: it turns not-ready, hands its
running run back to the queue and exits 0; green finishes every run, the handed-back one included.
An idempotency key means the same run on either server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fakes.provider import FakeProvider

from .conftest import service_env, start, wait_finished

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Blue and green share a SQLite file (both in one workspace), or a Postgres database."""
    if request.param == "sqlite":
        return {}
    return {"NEWSROOM_DATABASE_URL": request.getfixturevalue("postgres_url")}


def test_blue_green_on_one_database(tmp_path: Path, database: dict[str, str]) -> None:
    fake = FakeProvider(latency=(0.3, 0.6))
    url = fake.start()
    ws = tmp_path / "ws"
    blue = start(ws, service_env(tmp_path / "home", url, **database), "--drain", "0", "--grace", "2")
    green = start(tmp_path / "ws-green" if database else ws,
                  service_env(tmp_path / "home", url, NEWSROOM_FLAG_FLOW_ENGINE="off", **database),
                  "--workers-in-process", "2")
    try:
        with blue.client() as b, green.client() as g:
            key = {"Idempotency-Key": "drill-1"}
            keyed = b.post("/v1/articles", json={"topic": "tidal power in the Severn"}, headers=key).json()
            assert g.post("/v1/articles", json={"topic": "tidal power in the Severn"}, headers=key).json() == keyed
            ids = [keyed["execution_id"]] + [b.post("/v1/articles", json={"topic": f"heat networks, part {i}"})
                                             .json()["execution_id"] for i in range(4)]
            deadline = time.monotonic() + 60
            while not any(r["status"] == "running" and f"-{blue.proc.pid}-" in (r["worker"] or "")
                          for r in b.get("/v1/runs").json()["runs"]):
                assert time.monotonic() < deadline, "blue never took a run"
                time.sleep(0.1)
            blue.proc.terminate()
            time.sleep(0.3)
            assert b.get("/readyz").status_code == 503
            assert g.get("/readyz").status_code == 200
            assert blue.proc.wait(60) == 0, blue.stderr
            handed = next(line for line in blue.lines if "handed back" in line)
            back = handed.rsplit(": ", 1)[1].split(", ")
            assert back != ["none"] and set(back) <= set(ids), blue.stderr
            results = {i: wait_finished(g, i, timeout=180) for i in ids}
            assert {r["status"] for r in results.values()} == {"published"}, results
            for i in back:  # green finished what blue handed back
                assert f"-{green.proc.pid}-" in results[i]["worker"], results[i]
            flows = {i: json.loads(g.get(f"/v1/articles/{i}/review").text)["flags"]["flow_engine"] for i in ids}
            done_by_green = [i for i in ids if f"-{green.proc.pid}-" in results[i]["worker"]]
            assert done_by_green and not any(flows[i] for i in done_by_green)  # the rollback path
            assert g.get("/v1/runs").json()["runs"][0]["execution_id"] in ids
    finally:
        blue.stop()
        assert green.stop() == 0, green.stderr
        fake.stop()
