"""``/ui``: the dashboard. Server-rendered HTML, no script, no request to anywhere but this server.

The runs table with live totals (the page reloads itself every ``REFRESH_S`` seconds with a meta
refresh, which needs no script), and a page per run with its article rendered and its review. Every
string from a run is HTML-escaped; the article is rendered by markdown-it with raw HTML turned off
(a topic or an article may contain markup, and it shows as text). The Content-Security-Policy
forbids everything but the page's own stylesheet, which carries a per-response nonce.

A browser cannot send a bearer header from the address bar: ``/ui?token=...`` sets an HttpOnly,
SameSite=Strict cookie and redirects to ``/ui`` (the token leaves the address bar and the history);
the cookie is accepted for GETs of ``/ui`` pages only.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsroom.service.app import COOKIE, token_ok
from newsroom.service.routes import describe, find_run, read_output, recent_runs, review_of

router = APIRouter(include_in_schema=False)
REFRESH_S = 5
COOKIE_AGE_S = 8 * 3600
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:.8rem 1.5rem}header a{color:#fff}
main{padding:1rem 1.5rem;max-width:72rem}h1{font-size:1.2rem;margin:0}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e7eb;padding:.35rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}.published{color:#1a7f37}.rejected,.failed{color:#cf222e}
article{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1rem 2rem;max-width:48rem}
pre{white-space:pre-wrap}.muted{color:#57606a}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_markdown(text: str) -> str:
    """The article as HTML: front matter dropped, raw HTML shown as text, unsafe links refused."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return md.render(_FRONT_MATTER.sub("", text, count=1))


def _page(title: str, body: str, *, refresh: bool = False) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    meta = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if refresh else ""
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{meta}<title>{_e(title)}</title>'
            f'<style nonce="{nonce}">{CSS}</style></head><body><header><h1><a href="/ui">newsroom</a> · '
            f'{_e(title)}</h1></header><main>{body}</main></body></html>')
    csp = (f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'none'; "
           "frame-ancestors 'none'; base-uri 'none'")
    return HTMLResponse(page, headers={"Content-Security-Policy": csp})


def _cost(value: Any) -> str:
    return "unknown" if value is None else f"${float(value):.4f}"


def _totals(runs: list[Any]) -> str:
    usage = [(r.result or {}).get("usage") or {} for r in runs]
    costs = [u.get("cost_usd") for u in usage if u]
    counts = {s: sum(r.status == s for r in runs) for s in ("queued", "running", "published", "rejected")}
    cards = [("runs", len(runs)), ("queued", counts["queued"]), ("running", counts["running"]),
             ("published", counts["published"]), ("rejected", counts["rejected"]),
             ("tokens", f"{sum(u.get('input_tokens', 0) + u.get('output_tokens', 0) for u in usage):,}"),
             ("cost", _cost(sum(c for c in costs if c is not None)) if any(c is not None for c in costs)
              else "unknown")]
    return '<div class="cards" id="totals">' + "".join(
        f'<div class="card" data-key="{_e(k)}"><span class="muted">{_e(k)}</span><b>{_e(v)}</b></div>'
        for k, v in cards) + "</div>"


def _runs_table(runs: list[Any]) -> str:
    rows = []
    for r in runs:
        usage = (r.result or {}).get("usage") or {}
        tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0) if usage else ""
        gate = ((r.result or {}).get("scores") or {}).get("gate")
        rows.append(f'<tr><td><a href="/ui/runs/{_e(r.execution_id)}">{_e(r.execution_id)}</a></td>'
                    f'<td class="{_e(r.status)}">{_e(r.status)}</td><td>{_e(r.topic)}</td>'
                    f'<td class="n">{_e(tokens)}</td><td class="n">{_e(_cost(usage.get("cost_usd")) if usage else "")}'
                    f'</td><td class="n">{_e("" if gate is None else f"{gate:.2f}")}</td>'
                    f'<td>{_e(r.updated)}</td></tr>')
    head = "<tr><th>execution</th><th>status</th><th>topic</th><th>tokens</th><th>cost</th><th>gate</th>" \
           "<th>updated</th></tr>"
    return f'<table id="runs"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


@router.get("/ui")
def dashboard(request: Request, token: str | None = None) -> Response:
    runtime = request.app.state.runtime
    if token is not None:  # from the address bar: into a cookie, then out of the URL
        expected = runtime.config.token
        if expected is None or not token_ok(token, expected):
            raise HTTPException(401, "wrong token")
        response = RedirectResponse("/ui", status_code=303)
        response.set_cookie(COOKIE, token, max_age=COOKIE_AGE_S, httponly=True, samesite="strict", path="/ui")
        return response
    runs = recent_runs(runtime, limit=200)
    body = (f"{_totals(runs)}<p class=\"muted\">The {len(runs)} newest runs; this page reloads every "
            f"{REFRESH_S} s.</p>{_runs_table(runs)}")
    return _page("runs", body, refresh=True)


def _review_html(review: dict[str, Any] | None) -> str:
    if not review:
        return '<p class="muted">no review yet</p>'
    rounds = "".join(
        f"<tr><td>{_e(r.get('revision'))}</td><td>{_e(r.get('decision'))}</td><td>{_e(r.get('gate_score'))}</td>"
        f"<td>{_e(r.get('editor_score'))}</td><td>{_e('; '.join(r.get('reasons') or []))}</td></tr>"
        for r in review.get("revision_history") or [])
    violations = "".join(f"<li>{_e(v.get('rule_id'))}: {_e(v.get('message'))} <q>{_e(v.get('excerpt'))}</q></li>"
                         for v in review.get("violations") or [])
    notes = "".join(f"<li>{_e(n)}</li>" for n in review.get("notes") or [])
    return (f'<table id="rounds"><thead><tr><th>revision</th><th>decision</th><th>gate</th><th>editor</th>'
            f'<th>reasons</th></tr></thead><tbody>{rounds}</tbody></table>'
            f'<h3>Violations</h3><ul id="violations">{violations or "<li>none</li>"}</ul>'
            f'<h3>Notes</h3><ul>{notes or "<li>none</li>"}</ul>')


@router.get("/ui/runs/{execution_id}")
def run_page(execution_id: str, request: Request) -> Response:
    run = find_run(request.app.state.runtime, execution_id)
    data = describe(run, with_history=False)
    usage = data.get("usage") or {}
    facts = [("status", data["status"]), ("topic", data["topic"]), ("reason", data["reason"]),
             ("revisions", data["revisions"]), ("LLM calls", usage.get("llm_calls")),
             ("tokens", f"{usage.get('input_tokens', 0)} in, {usage.get('output_tokens', 0)} out" if usage else None),
             ("cost", _cost(usage.get("cost_usd")) if usage else None), ("worker", data["worker"]),
             ("scores", ", ".join(f"{k} {v}" for k, v in (data["scores"] or {}).items()))]
    table = '<table id="facts">' + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts) + "</table>"
    article = '<p class="muted">no article yet</p>'
    if data["markdown_url"]:
        try:
            article = f'<article id="article">{render_markdown(read_output(run, "article_path"))}</article>'
        except HTTPException as exc:
            article = f'<p class="muted">{_e(exc.detail)}</p>'
    review = _review_html(review_of(run)) if data["review_url"] else '<p class="muted">no review yet</p>'
    body = f"{table}<h2>Article</h2>{article}<h2>Review</h2>{review}"
    return _page(f"run {run.execution_id}", body, refresh=run.status in ("queued", "running"))
