"""The dashboard in a real headless Chromium: it renders, logs no console error (a CSP violation
would be one), and the page asks for nothing but its own server.

Chromium signs in the way a person does, with ``/ui?token=...``: the cookie lands in the profile,
and the next pages are opened with the same profile. Every host name resolves to NOTFOUND and a
NetLog records every request the page made. Set ``DASHBOARD_PNG=docs/dashboard.png`` to
keep the screenshot (the README shows it).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.netlog import page_requests
from tests.roi.test_report_browser import chromium

from .conftest import TOKEN, Served, wait_finished

pytestmark = pytest.mark.slow


def open_page(url: str, profile: Path, *extra: str) -> tuple[str, list[str], list[str]]:
    """Open ``url``; return the DOM (with --dump-dom), the console lines and the page's requests."""
    netlog = profile.parent / f"netlog-{len(list(profile.parent.glob('netlog-*')))}.json"
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-extensions", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", *extra, url]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console, page_requests(netlog, "http://127.0.0.1")  # a site is scheme and host, no port


def test_the_dashboard_in_chromium(server: Served, tmp_path: Path) -> None:
    topics = ["battery recycling in Britain", 'heat pumps <img src="http://example.invalid/x.png"> at scale',
              "tidal power in the Severn estuary"]
    with server.client() as c:
        ids = [c.post("/v1/articles", json={"topic": t}).json()["execution_id"] for t in topics]
        runs = [wait_finished(c, i) for i in ids]
    assert {r["status"] for r in runs} == {"published"}
    profile = tmp_path / "chrome" / "profile"
    profile.parent.mkdir(parents=True)

    dom, console, requests = open_page(f"{server.base}/ui?token={TOKEN}", profile, "--dump-dom")
    assert console == [], "console messages:\n" + "\n".join(console)
    assert 'id="runs"' in dom and 'id="totals"' in dom, dom[:2000]
    assert all(i in dom for i in ids)
    assert "<img" not in dom and "&lt;img src=" in dom  # the topic's markup is text
    assert requests and all(u.startswith(server.base) for u in requests), requests
    assert not [u for u in requests if "example.invalid" in u]

    dom, console, requests = open_page(f"{server.base}/ui/runs/{ids[0]}", profile, "--dump-dom")
    assert console == [], "console messages:\n" + "\n".join(console)
    assert '<article id="article">' in dom and "<h2>A flood of spent packs</h2>" in dom
    assert 'id="rounds"' in dom and "publish" in dom
    assert all(u.startswith(server.base) for u in requests), requests

    shot = tmp_path / "dashboard.png"
    open_page(f"{server.base}/ui", profile, "--hide-scrollbars", "--window-size=1280,800", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 800)
    assert len(data) > 20_000  # the sign-in page or a blank one would compress to a few kB
    if os.environ.get("DASHBOARD_PNG"):
        shutil.copyfile(shot, os.environ["DASHBOARD_PNG"])
    # Without the cookie the browser gets nothing.
    assert httpx.get(f"{server.base}/ui").status_code == 401
