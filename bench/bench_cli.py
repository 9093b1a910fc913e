"""6. CLI start-up: ``newsroom --help`` and ``newsroom check`` on a 1,200-word article, as real processes.

The bare component is the interpreter itself (``python -c pass`` from the same venv). One warm-up
run of each command (page cache) is not counted; then the commands run in rotating order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench_common import FIXTURES, WorkerContext, child_env, log, median, metric, run_child

ARTICLE = FIXTURES / "article_1200.md"
TARGETS = {"help": 0.5, "check": 1.0}


def _prose_words(path: Path) -> int:
    body = path.read_text(encoding="utf-8").split("---", 2)[2]
    return len(" ".join(line for line in body.splitlines() if not line.startswith("#")).split())


def measure(ctx: WorkerContext) -> dict[str, Any]:
    runs = 3 if ctx.quick else 5
    env = child_env(ctx.tmp, ctx.workspace)
    exe = ctx.newsroom_exe
    commands = {"python": [ctx.python, "-c", "pass"], "help": [exe, "--help"], "check": [exe, "check", str(ARTICLE)]}
    for cmd in commands.values():  # warm-up
        run_child(cmd, env=env, cwd=ctx.workspace)
    walls: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, list[float]] = {k: [] for k in commands}
    codes: dict[str, set[int]] = {k: set() for k in commands}
    names = list(commands)
    for r in range(runs):
        for name in names[r % 3:] + names[:r % 3]:
            child = run_child(commands[name], env=env, cwd=ctx.workspace)
            walls[name].append(child.wall_s)
            rss[name].append(child.max_rss_mib)
            codes[name].add(child.returncode)
        log(f"cli: run {r + 1}/{runs}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in walls.items()))
    if codes["help"] != {0} or not codes["check"] <= {0, 3}:
        raise RuntimeError(f"unexpected exit codes: {codes}")
    py = median(walls["python"])
    stat = f"median of {runs} runs"
    return {
        "title": "CLI start-up",
        "method": ("subprocess wall time (perf_counter from Popen to os.wait4) of .venv/bin/newsroom --help and "
                   f"newsroom check bench/fixtures/{ARTICLE.name} ({_prose_words(ARTICLE):,} words of prose), "
                   "cwd and HOME in temp dirs, one uncounted warm-up each, rotating order."),
        "metrics": [
            metric("cli.python_s", "bare interpreter: python -c pass", py, "s", n=runs, stat=stat,
                   samples=walls["python"]),
            metric("cli.help_s", "newsroom --help", median(walls["help"]), "s", n=runs, stat=stat,
                   target=("<", TARGETS["help"]), ratio=median(walls["help"]) / py, ratio_of="/ python -c pass",
                   samples=walls["help"], max_rss_mib=round(max(rss["help"]), 1)),
            metric("cli.check_s", f"newsroom check on a {_prose_words(ARTICLE):,}-word article",
                   median(walls["check"]), "s", n=runs, stat=stat, target=("<", TARGETS["check"]),
                   ratio=median(walls["check"]) / py, ratio_of="/ python -c pass", samples=walls["check"],
                   max_rss_mib=round(max(rss["check"]), 1)),
        ],
        "notes": [f"exit codes: --help {sorted(codes['help'])}, check {sorted(codes['check'])} (0 passed, 3 failed "
                  "the gate)",
                  f"peak RSS: python -c pass {max(rss['python']):.0f} MiB, --help {max(rss['help']):.0f} MiB, "
                  f"check {max(rss['check']):.0f} MiB"],
    }
