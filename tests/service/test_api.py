"""The HTTP API against a real ``newsroom serve`` on loopback, the fake provider behind it."""

from __future__ import annotations

import json
from collections import defaultdict

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from newsroom.roi.db_ledger import DbLedger
from newsroom.store import default_url

from .conftest import TOKEN, Served, wait_finished

pytestmark = pytest.mark.slow


def test_an_article_goes_end_to_end(server: Served) -> None:
    with server.client() as c:
        posted = c.post("/v1/articles", json={"topic": "battery recycling in Britain", "max_revisions": 1})
        assert posted.status_code == 202, posted.text
        body = posted.json()
        assert set(body) == {"execution_id", "status_url"}
        assert posted.headers["location"] == body["status_url"] == f"/v1/articles/{body['execution_id']}"
        run = wait_finished(c, body["execution_id"])
        assert run["status"] == "published", run
        assert run["usage"]["llm_calls"] == 11 and run["scores"]["gate"] == 1.0
        assert run["revision_history"][0]["decision"] == "publish"
        markdown = c.get(run["markdown_url"])
        assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.text.startswith("---\n") and "## A flood of spent packs" in markdown.text
        review = c.get(run["review_url"]).json()
        assert review["execution_id"] == body["execution_id"] and review["status"] == "published"
        listed = c.get("/v1/runs", params={"status": "published"}).json()["runs"]
        assert body["execution_id"] in {r["execution_id"] for r in listed}
        # The run's usage is exactly its calls in the ledger.
        records = DbLedger(default_url(server.workspace)).read(body["execution_id"]).records
        calls = [r for r in records if r["type"] == "llm_call"]
        assert len(calls) == run["usage"]["llm_calls"]
        assert sum(r["input_tokens"] for r in calls) == run["usage"]["input_tokens"]


def _metric_sums(text: str) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            sums[sample.name] += sample.value
    return sums


def test_metrics_equal_the_ledger(server: Served) -> None:
    with server.client() as c:
        first = c.post("/v1/articles", json={"topic": "grid batteries and the winter peak"}).json()
        wait_finished(c, first["execution_id"])
        for run in c.get("/v1/runs", params={"limit": 1000}).json()["runs"]:
            wait_finished(c, run["execution_id"])
        scraped = c.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    sums = _metric_sums(scraped.text)
    calls = [r for r in DbLedger(default_url(server.workspace)).read().records if r["type"] == "llm_call"]
    assert calls, "the ledger is empty"
    assert sums["newsroom_llm_calls_total"] == len(calls)
    assert sums["newsroom_llm_input_tokens_total"] == sum(r["input_tokens"] for r in calls)
    assert sums["newsroom_llm_output_tokens_total"] == sum(r["output_tokens"] for r in calls)
    assert sums["newsroom_llm_cost_usd_total"] == pytest.approx(sum(r["cost_usd"] or 0 for r in calls))
    assert sums["newsroom_llm_call_duration_seconds_count"] == len(calls)
    assert sums["newsroom_llm_call_duration_seconds_sum"] == pytest.approx(sum(r["duration_ms"] for r in calls) / 1000)
    assert sums["newsroom_queue_depth"] == 0
    with server.client() as c:
        runs = c.get("/v1/runs", params={"limit": 1000}).json()["runs"]
    assert sums["newsroom_runs"] == len(runs)


def test_every_route_but_healthz_needs_the_token(server: Served) -> None:
    routes = [("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/ui"), ("GET", "/v1/runs"),
              ("GET", "/v1/articles/abc"), ("DELETE", "/v1/articles/abc"), ("POST", "/v1/articles")]
    for token in (None, "wrong-token-of-some-length", TOKEN[:-1]):
        with server.client(token) as c:
            for method, path in routes:
                r = c.request(method, path, json={"topic": "x"} if method == "POST" else None)
                assert r.status_code == 401, (token, method, path, r.text)
                assert r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
            assert c.get("/healthz").json() == {"status": "ok"}
    with server.client() as c:
        spec = c.get("/openapi.json").json()
    assert {"/v1/articles", "/v1/articles/{execution_id}", "/v1/runs", "/readyz"} <= set(spec["paths"])
    assert TOKEN not in json.dumps(spec)


@pytest.mark.parametrize(("body", "field"), [
    ({"topic": ""}, "topic"),
    ({"topic": "x" * 400}, "topic"),
    ({}, "topic"),
    ({"topic": "fine", "colour": "red"}, "colour"),
    ({"topic": "fine", "max_revisions": 99}, "max_revisions"),
    ({"topic": "fine", "budget_usd": -1}, "budget_usd"),
    ({"topic": "fine", "flags": {"warp_drive": "on"}}, "flags"),
    ({"topic": "fine", "model": "/etc/passwd"}, "model"),
    ({"topic": "fine", "provider": "scripted"}, "provider"),
    ({"topic": "fine", "provider": "anthropic"}, "provider"),  # no key on this server
    ({"topic": "fine", "sources": [{"title": "t"}]}, "sources.0.text"),
])
def test_a_bad_body_is_422_naming_the_field(server: Served, body: dict[str, object], field: str) -> None:
    with server.client() as c:
        r = c.post("/v1/articles", json=body)
    assert r.status_code == 422, r.text
    data = r.json()
    assert data["error"] == "invalid_request" and data["request_id"]
    assert field in [d["field"] for d in data["detail"]], data


def test_malformed_json_and_bad_queries_are_422(server: Served) -> None:
    with server.client() as c:
        r = c.post("/v1/articles", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"] == "invalid_request"
        assert c.get("/v1/runs", params={"status": "exploded"}).status_code == 422
        assert c.get("/v1/runs", params={"limit": 0}).json()["detail"][0]["field"] == "query.limit"


def test_an_unknown_id_is_404(server: Served) -> None:
    with server.client() as c:
        for path in ("/v1/articles/0000000000000000", "/v1/articles/0000000000000000/markdown",
                     "/v1/articles/0000000000000000/review", "/v1/articles/..%2f..%2fetc", "/ui/runs/nope"):
            r = c.get(path)
            assert r.status_code == 404, (path, r.text)
        assert c.delete("/v1/articles/0000000000000000").status_code == 404


def test_an_oversize_body_is_413_before_it_is_read(server: Served) -> None:
    big = json.dumps({"topic": "fine", "sources": [{"title": "t", "text": "x" * 50_000}] * 2}).encode()
    with server.client() as c:
        r = c.post("/v1/articles", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"

        def chunks():  # no Content-Length: the limit counts what arrives
            for i in range(0, len(big), 8192):
                yield big[i:i + 8192]

        r = c.post("/v1/articles", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        assert c.get("/healthz").status_code == 200


def test_the_same_idempotency_key_gives_the_same_run(server: Served) -> None:
    with server.client() as c:
        key = {"Idempotency-Key": "order-7781"}
        first = c.post("/v1/articles", json={"topic": "heat pumps in terraced houses"}, headers=key)
        again = c.post("/v1/articles", json={"topic": "heat pumps in terraced houses"}, headers=key)
        assert first.status_code == again.status_code == 202
        assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
        other = c.post("/v1/articles", json={"topic": "something else entirely"}, headers=key)
        assert other.status_code == 422 and other.json()["detail"][0]["field"] == "Idempotency-Key"
        fresh = c.post("/v1/articles", json={"topic": "heat pumps in terraced houses"})
        assert fresh.json()["execution_id"] != first.json()["execution_id"]
        run = wait_finished(c, first.json()["execution_id"])
        assert run["status"] == "published"
        # A finished run cannot be cancelled; the answer says why.
        r = c.delete(f"/v1/articles/{run['execution_id']}")
        assert r.status_code == 409 and "published" in r.json()["detail"]
        wait_finished(c, fresh.json()["execution_id"])


def test_responses_carry_the_security_headers(server: Served) -> None:
    with server.client() as c:
        for path in ("/v1/runs", "/v1/articles/nope", "/readyz"):
            r = c.get(path)
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["content-security-policy"].startswith("default-src 'none'")
            assert len(r.headers["x-request-id"]) == 16
        assert "server" not in c.get("/healthz").headers


def test_the_dashboard_escapes_and_sets_a_strict_cookie(server: Served) -> None:
    hostile = 'battery <script>alert("x")</script> recycling'
    with server.client() as c:
        run = wait_finished(c, c.post("/v1/articles", json={"topic": hostile}).json()["execution_id"])
        page = c.get("/ui").text
        detail = c.get(f"/ui/runs/{run['execution_id']}").text
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<script" not in detail and "<h2>A flood of spent packs</h2>" in detail
    with httpx.Client(base_url=server.base, follow_redirects=False) as browser:
        assert browser.get("/ui").status_code == 401
        assert browser.get("/ui", params={"token": "wrong-token-of-some-length"}).status_code == 401
        signed = browser.get("/ui", params={"token": TOKEN})
        assert signed.status_code == 303 and signed.headers["location"] == "/ui"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert browser.get("/ui").status_code == 200  # the cookie now
        assert browser.get("/v1/runs").status_code == 401  # but only for the dashboard
        assert browser.post("/v1/articles", json={"topic": "x"}).status_code == 401
