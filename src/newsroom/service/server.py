"""The ``serve`` command: uvicorn, the bind check, and the drain after SIGTERM.

On the first SIGTERM (or Ctrl-C) the server does not stop listening at once: ``/readyz`` answers
503 and new runs are refused while the in-process workers finish their runs or hand them back
(``--drain``), and for at least ``--grace`` seconds, so a load balancer sees the 503 and moves the
traffic. Then the listener closes, the requests in flight are answered and the process exits 0. A
second Ctrl-C stops at once.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

import click

from newsroom.cli_common import Ctx, provider_options
from newsroom.errors import ConfigError

log = logging.getLogger(__name__)
TOKEN_ENV = "NEWSROOM_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
TOKEN_MIN = 16
_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s]*", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def api_token(host: str, env: dict[str, str] | None = None) -> str | None:
    """The bearer token from the environment; ``ConfigError`` for a public bind without one."""
    token = (os.environ if env is None else env).get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host!r} without a token: set {TOKEN_ENV} (e.g. "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))'), or bind 127.0.0.1")
    if token is not None and len(token) < TOKEN_MIN:
        raise ConfigError(f"{TOKEN_ENV} is {len(token)} characters; use at least {TOKEN_MIN} "
                          "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


class _RedactToken(logging.Filter):
    """Keeps ``?token=`` (the dashboard's sign-in link) out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def _server_class() -> Any:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn's server, with the drain before the stop (see the module docstring)."""

        runtime: Any = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.runtime.draining.is_set():
                if sig == signal.SIGINT:
                    self.force_exit = self.should_exit = True
                return
            click.echo(f"newsroom serve: draining ({signal.Signals(sig).name}): /readyz is 503, new runs are "
                       "refused, running runs finish or go back to the queue", err=True)
            self.runtime.drain()
            threading.Thread(target=self._finish, name="newsroom-drain", daemon=True).start()

        def _finish(self) -> None:
            started = time.monotonic()
            self.runtime.wait(self.runtime.config.drain_s + 10)
            time.sleep(max(0.0, self.runtime.config.grace_s - (time.monotonic() - started)))
            self.should_exit = True

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    click.echo(f"newsroom serve: listening on http://{host}:{port}", err=True)

    return DrainingServer


def run_server(config: Any) -> list[str]:
    """Serve until drained; returns the runs handed back to the queue."""
    import uvicorn

    from newsroom.service.app import create_app
    from newsroom.service.runtime import Runtime

    runtime = Runtime(config)
    app = create_app(runtime)
    runtime.start()
    logging.getLogger("uvicorn.access").addFilter(_RedactToken())
    server = _server_class()(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                            timeout_graceful_shutdown=10, server_header=False))
    server.runtime = runtime
    try:
        server.run()
    finally:
        runtime.close()
    return runtime.handed_back


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind; anything but loopback needs NEWSROOM_API_TOKEN")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 picks a free port")
@click.option("--workers-in-process", "workers", type=click.IntRange(0, 32), default=1, show_default=True,
              help="runs this server does itself at once; 0 = API only (`newsroom worker` processes do the runs)")
@click.option("--drain", "drain_s", type=click.FloatRange(0), default=30.0, show_default=True, metavar="SECONDS",
              help="on SIGTERM, how long running runs may take to finish before they are handed back")
@click.option("--grace", "grace_s", type=click.FloatRange(0), default=5.0, show_default=True, metavar="SECONDS",
              help="on SIGTERM, how long /readyz answers 503 before the listener closes")
@provider_options
@click.option("--flag", "flag_pairs", multiple=True, metavar="NAME=VALUE", help="override a feature flag")
@click.pass_obj
def serve(obj: Ctx, host: str, port: int, workers: int, drain_s: float, grace_s: float, provider: str | None,
          model: str | None, base_url: str | None, flag_pairs: tuple[str, ...]) -> int:
    """Serve the HTTP API and the dashboard (/ui); runs go on the database's queue.

    Every route but /healthz needs `Authorization: Bearer $NEWSROOM_API_TOKEN`. Without the variable
    the server binds loopback only and asks for no token. On SIGTERM it drains (see --drain, --grace)
    and exits 0.
    """
    from newsroom import flags as flagmod
    from newsroom.service.runtime import ServiceConfig

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"newsroom serve needs {exc.name!r}, which is not installed: pip install fastapi uvicorn "
                          "(make setup installs them once requirements.lock carries them: make lock)") from None
    token = api_token(host)
    settings = obj.settings(provider=provider, model=model, base_url=base_url,
                            flag_overrides=flagmod.parse_overrides(flag_pairs))
    # Queued runs are built from this machine's settings (engine.settings_for): the workers of this
    # process must see the same workspace and database the server was given on its command line.
    os.environ["NEWSROOM_WORKSPACE"] = str(settings.workspace)
    if settings.database_url:
        os.environ["NEWSROOM_DATABASE_URL"] = settings.database_url
    if token is None:
        click.echo("newsroom serve: no NEWSROOM_API_TOKEN: the API is open to every process on this machine",
                   err=True)
    config = ServiceConfig(settings=settings, host=host, port=port, workers=workers, token=token,
                           drain_s=drain_s, grace_s=grace_s)
    handed = run_server(config)
    click.echo(f"newsroom serve: stopped; handed back {len(handed)} run(s): {', '.join(handed) or 'none'}",
               err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a run handed back is another worker's now; this process must not go on with it
