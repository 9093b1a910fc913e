"""A disk that fills up while the article or review is being written (issue 10, item 16).

The fault strikes mid-write: the first half of the temp file reaches the disk, then
``write(2)`` fails with ENOSPC. The output writers run for real (``api._write_outputs`` with a
real stage context, no crewAI), so a writer that wrote in place, or left its temp file, fails
this test.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from newsroom import api, outputs_writer, safeio
from newsroom.config import Settings
from newsroom.llm.scripted import ScriptedModel
from newsroom.outputs import reserve_paths
from newsroom.pipeline import ArticleState
from newsroom.roi.ledger import RoiLedger

ARTICLE = "---\ntitle: Tides\n---\n\n# Tides\n\n" + "The tide came in. " * 500


def test_a_full_disk_mid_write_fails_the_run_and_leaves_no_half_file(workspace: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = workspace / "out"
    out.mkdir()
    real_write_all = safeio._write_all
    faults: list[tuple[int, int]] = []

    def disk_fills_in_out(fd: int, data: bytes) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).parent != out:  # the checkpoints still fit
            real_write_all(fd, data)
            return
        real_write_all(fd, data[:len(data) // 2])
        faults.append((os.fstat(fd).st_size, len(data)))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safeio, "_write_all", disk_fills_in_out)
    settings = Settings.load(workspace=workspace, provider="scripted", flag_overrides={"style_memory": "off"})
    ctx = api.build_context(settings, "exec-disk-full", ScriptedModel())
    state = ArticleState(id="exec-disk-full", execution_id="exec-disk-full", topic="tides", draft=ARTICLE,
                         status="published")

    paths = reserve_paths(out, state.topic, "2026-01-02", state.execution_id)
    result = outputs_writer._write(ctx, state, out, 1.0, paths)
    ctx.metered.ledger.close()

    assert len(faults) == 2  # the article and the review each failed with half of it on disk
    assert all(0 < on_disk == total // 2 for on_disk, total in faults)
    assert result.status == "failed" and result.article_path is None and result.review_path is None
    assert result.reason is not None and "No space left on device" in result.reason
    assert list(out.iterdir()) == []  # no half article, no half review, no temp file
    (run,) = [r for r in RoiLedger(settings.ledger_path).read().records if r["type"] == "run"]
    assert run["status"] == "failed" and "No space left on device" in run["reason"]
