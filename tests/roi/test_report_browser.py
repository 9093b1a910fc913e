"""The ROI report in a real headless Chromium: it renders, logs no console error, fetches nothing.

Needs Debian's Chromium (``apt-get install -y chromium chromium-driver``); without it these tests
FAIL, they do not skip. Chromium runs with every host name mapped to NOTFOUND and a NetLog
(``--log-net-log``); a request the page made would appear there with the page's ``file://``
network isolation key, while the browser's own background traffic (update checks) has none. A
control page that does log an error and does fetch an image proves both detectors work.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.netlog import page_requests
from tests.roi.test_report import HOSTILE, build_ledger, invoke, parse, rows_by_key, totals

pytestmark = pytest.mark.slow

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"


def chromium() -> str:
    """The Chromium binary; fails the test with the install line when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"Chromium is not installed; these browser tests need it: {INSTALL}")


@dataclass
class Load:
    dom: str
    console: list[str]
    page_requests: list[str]


def load(page: Path, tmp: Path, *extra: str) -> Load:
    """Open ``page`` in headless Chromium; return its DOM, console lines and the requests it made."""
    tmp.mkdir(parents=True, exist_ok=True)
    netlog = tmp / "netlog.json"
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-extensions", f"--user-data-dir={tmp / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND',
            "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}", *extra, page.resolve().as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Load(proc.stdout, console, page_requests(netlog, "file://"))


def test_control_page_proves_the_detectors_work(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p id="x">hi</p><img src="http://example.invalid/x.png">'
                   '<script>console.error("sentinel-error")</script></body></html>', encoding="utf-8")
    loaded = load(bad, tmp_path / "chrome", "--dump-dom")
    assert 'id="x"' in loaded.dom
    assert any("sentinel-error" in line for line in loaded.console), loaded.console
    assert "http://example.invalid/x.png" in loaded.page_requests


@pytest.fixture
def report_file(workspace: Path, ledger_path: Path) -> Path:
    build_ledger(ledger_path)
    result = invoke(workspace, "report", "--html", "roi.html")
    assert result.exit_code == 0, result.output
    return workspace / "roi.html"


def test_report_renders_offline_without_errors(report_file: Path, tmp_path: Path) -> None:
    loaded = load(report_file, tmp_path / "chrome", "--dump-dom")
    assert loaded.console == [], "console messages:\n" + "\n".join(loaded.console)
    assert loaded.page_requests == [], f"the page tried to fetch {loaded.page_requests}"
    tree = parse(loaded.dom)
    charts = {"chart-run-tokens", "chart-run-cost", "chart-stage-tokens", "chart-stage-cost", "chart-latency"}
    assert charts <= tree.ids
    assert loaded.dom.count("<svg") == len(charts) and loaded.dom.count("<rect") > 10
    t = totals(loaded.dom)
    assert (t["LLM calls (attempts)"], t["Input tokens"], t["Output tokens"], t["LLM cost"]) == (
        "8", "700", "70", "unknown")
    runs = rows_by_key(loaded.dom, "runs")
    assert runs["run-a"]["ROI multiplier"] == "375,000×"
    assert runs["run-b"]["topic"] == HOSTILE  # shown as text ...
    assert "<script" not in loaded.dom  # ... never parsed as an element


def test_report_screenshot(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "roi.png"
    load(report_file, tmp_path / "chrome", "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2400)
    assert len(data) > 50_000  # a blank page compresses to a few kB; this one has charts and tables
