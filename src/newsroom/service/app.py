"""The FastAPI application: its guard, its error answers and its probes.

The guard is one ASGI middleware in front of every route. It gives each request an id (echoed in
``X-Request-ID`` and in every error), checks the bearer token (every route but ``/healthz``; the
dashboard also takes it from its cookie), refuses bodies over ``max_body`` bytes with 413 before
they are read, and adds the security headers. Errors answer JSON ``{"error", "detail",
"request_id"}``: validation errors name the field, and an unexpected failure is a generic 500 with
the request id, its traceback only in the server's log.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp as ASGI
from starlette.types import Message, Receive, Scope, Send

from newsroom.errors import ConfigError
from newsroom.service.runtime import Runtime

log = logging.getLogger(__name__)
COOKIE = "newsroom_token"
OPEN_PATHS = ("/healthz",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie") or ""
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def token_ok(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class Guard:
    """Request id, bearer token, body limit and security headers, for every request."""

    def __init__(self, app: ASGI, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in _security_headers(request_id):
                    if key not in names:
                        headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self._refuse(scope, request_id)
        if refusal is None:
            body = await self._read_body(receive)
            if body is not None:
                await self.app(scope, _replay(body, receive), send_with_headers)
                return
            refusal = _error(413, "payload_too_large", f"the body is over {self.max_body} bytes", request_id)
        await refusal(scope, receive, send_with_headers)

    def _refuse(self, scope: Scope, request_id: str) -> ASGI | None:
        path = scope.get("path", "")
        if self.token is not None and path not in OPEN_PATHS and not self._authorised(scope, path):
            return _error(401, "unauthorized", "send Authorization: Bearer <NEWSROOM_API_TOKEN>", request_id,
                          {"WWW-Authenticate": "Bearer"})
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return _error(413, "payload_too_large", f"the body is over {self.max_body} bytes", request_id)
        return None

    def _authorised(self, scope: Scope, path: str) -> bool:
        if self.token is None:
            return True
        auth = _header(scope, b"authorization") or ""
        scheme, _, given = auth.partition(" ")
        if scheme.lower() == "bearer" and token_ok(given.strip(), self.token):
            return True
        if scope.get("method") != "GET" or not (path == "/ui" or path.startswith("/ui/")):
            return False
        # The dashboard's cookie, for GETs of /ui only (a cross-site form can never use it), and the
        # sign-in link /ui?token=... that sets it.
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        link: str | None = query.get("token", [""])[0] if path == "/ui" else None
        return token_ok(_cookie(scope, COOKIE), self.token) or token_ok(link, self.token)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body (a few KiB at most), or None once it passes the limit: a body sent without a
        Content-Length (chunked) is counted as it arrives, and never held beyond the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the disconnect, when the client goes

    return replay


def _security_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
            (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'")]


def _error(status: int, error: str, detail: Any, request_id: str, headers: dict[str, str] | None = None) -> ASGI:
    body = {"error": error, "detail": detail, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers=headers)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "message": message})
    return out


def install_errors(app: FastAPI) -> None:
    """Every error is JSON with the request id; nothing internal reaches a client."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "detail": _validation_details(exc),
                             "request_id": _request_id(request)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                 413: "payload_too_large", 422: "invalid_request", 503: "unavailable"}
        return JSONResponse({"error": names.get(exc.status_code, "error"), "detail": exc.detail,
                             "request_id": _request_id(request)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("request %s %s failed (request id %s)", request.method, request.url.path, _request_id(request),
                  exc_info=exc)
        return JSONResponse({"error": "internal", "detail": "an unexpected error; the server's log has it under "
                             "this request id", "request_id": _request_id(request)}, status_code=500)


def create_app(runtime: Runtime) -> FastAPI:
    """The application for ``runtime``'s server (its engine is started by ``server.py``)."""
    from newsroom.service import metrics, routes, ui

    app = FastAPI(title="newsroom", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Enqueue articles, follow their runs, read what they wrote. Bearer token on every "
                              "route but /healthz.")
    app.state.runtime = runtime
    install_errors(app)

    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers, the provider is configured, the style store is loaded, and
        the server is not draining. 503 with the reasons otherwise."""
        reasons = runtime.not_ready()
        return JSONResponse({"ready": not reasons, "reasons": reasons}, status_code=503 if reasons else 200)

    @app.get("/metrics", tags=["probes"], response_class=PlainTextResponse)
    def metrics_route() -> PlainTextResponse:
        """Prometheus exposition, read from the database at scrape time."""
        try:
            body, content_type = metrics.exposition(runtime)
        except ConfigError as exc:
            raise StarletteHTTPException(503, str(exc)) from None
        return PlainTextResponse(body, media_type=content_type)

    app.include_router(routes.router)
    app.include_router(ui.router)
    app.add_middleware(Guard, token=runtime.config.token, max_body=runtime.config.max_body)
    return app
