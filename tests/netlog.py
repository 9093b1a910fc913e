"""Chromium's NetLog, read by the browser tests: which URLs the pages of one origin asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def page_requests(netlog: Path, origin: str) -> list[str]:
    """The URLs requested by pages of ``origin`` ("file://", "http://127.0.0.1"); the browser's own
    background traffic carries no such network-isolation key."""
    text = netlog.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:  # a NetLog cut short at exit may lack its closing brackets
        data = json.loads(text.rstrip().rstrip(",") + "]}")
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in data.get("events", []):
        params: dict[str, Any] = event.get("params") or {}
        if event.get("type") == start and origin in str(params.get("network_isolation_key", "")):
            urls.append(str(params.get("url")))
    return urls
