"""A throwaway Postgres server for the cluster tests and ``bench/cluster.py``.

``postgres_server()`` makes a new cluster in a temp dir, starts it listening on 127.0.0.1 only (on a
free port; its Unix socket stays in the temp dir), yields its URL and stops it (``-m immediate``)
and deletes the dir at the end. Debian's ``postgresql`` package provides the binaries (``make setup``
installs it when it runs as root). ``initdb`` refuses to run as root, so as root the server runs as
the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: Debian's versioned dir (newest first), else ``PATH``."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                            reverse=True):
        if os.access(Path(candidate) / "pg_ctl", os.X_OK) and os.access(Path(candidate) / "initdb", os.X_OK):
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def unavailable() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if pg_bindir() is None:
        return "Postgres binaries (initdb, pg_ctl) not found; `make setup` installs Debian's postgresql as root"
    if os.geteuid() == 0 and not shutil.which("su"):
        return "running as root without `su` to start Postgres as the postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in cmd)]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


@contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[str]:
    """Start a private Postgres; yield ``postgresql://postgres@127.0.0.1:PORT/postgres``. Tests run it
    with ``fsync=off`` (a crash of the test machine loses nothing anyone wants); the bench with it on."""
    why = unavailable()
    if why is not None:
        raise RuntimeError(why)
    bindir = pg_bindir()
    assert bindir is not None
    # Directly under the system temp dir: pytest's tmp_path is private to root and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="newsroom-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    port = _free_port()
    log = root / "server.log"
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                        "--no-sync", "-E", "UTF8"]), **run)  # type: ignore[call-overload]
        options = f"-k {data} -c listen_addresses=127.0.0.1 -p {port} -c max_connections=200" \
            f" -c fsync={'on' if fsync else 'off'}"
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                                        "-w", "start"]), **run)  # type: ignore[call-overload]
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"could not start Postgres: {exc.stderr or exc.stdout}\n{tail}") from None
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
