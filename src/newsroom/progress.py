"""Progress on stderr for the CLI: stage, revision round, tokens and elapsed time."""

from __future__ import annotations

import time
from typing import Any


class ConsoleProgress:
    """Implements ``stages.context.Progress`` with rich, writing to stderr only."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.started = time.perf_counter()
        self._stage_started = self.started
        self._status: Any = None

    def stage(self, name: str, revision: int, metered: Any) -> None:
        self._stage_started = time.perf_counter()
        label = f"{name}" + (f" (revision {revision})" if revision else "")
        self._status = self.console.status(f"[bold]{label}[/] running…", spinner="dots")
        self._status.start()

    def done(self, name: str, metered: Any) -> None:
        if self._status is not None:
            self._status.stop()
        totals = metered.totals()
        stage = totals.by_stage.get(name)
        tokens = stage.total_tokens if stage else 0
        now = time.perf_counter()
        self.console.print(f"[green]✓[/] {name:<13} {now - self._stage_started:6.1f} s  "
                           f"{tokens:>7,} tokens   total {totals.total.total_tokens:,} tokens, "
                           f"{now - self.started:.1f} s elapsed")
