"""The editor discriminates on the default local model: on five pairs of drafts (tests/fixtures/editor),
every clean draft scores at or above the flow's threshold and every failed one (a loop, another
subject, a draft that never makes its case) below it. ``bench/editor.py`` prints the same table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

REPO = Path(__file__).resolve().parents[2]


def test_clean_drafts_pass_and_failed_drafts_do_not(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    sys.modules.pop("editor", None)
    import editor  # bench/editor.py

    from newsroom.paths import data_dir
    from newsroom.stages.context import load_flow

    threshold = load_flow(data_dir("flows")).quality_gate.min_editor_score
    rows = editor.run(None)
    scores = {(r["pair"], r["kind"]): float(r["score"]) for r in rows}
    assert len(scores) == 10
    report = editor.table(rows, threshold)
    assert all(scores[(p, "clean")] >= threshold for p, _ in scores), report
    assert all(scores[(p, "bad")] < threshold for p, _ in scores), report
