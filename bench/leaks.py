"""Does a long-lived process leak? 200 scripted runs through ``run_batch`` in one process, open file
descriptors and RSS measured after every 20 (each time with no run in flight).

    .venv/bin/python bench/leaks.py [--runs 200] [--every 20] [--out bench/leaks.md]

The scripted model answers at once, so the runs exercise everything but a provider: the durable
engine (DBOS on the workspace's SQLite), the crewAI flow, the ledger, the style memory (on) and the
article writer. A leak of one descriptor or a few hundred KB a run shows as a steady climb.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(runs: int, every: int) -> list[tuple[int, int, float, float, int]]:
    from tests.stages.conftest import CLEAN_SECTIONS, script

    from newsroom.batch import run_batch
    from newsroom.config import Settings
    from newsroom.llm.scripted import ScriptedModel

    workspace = Path(tempfile.mkdtemp(prefix="newsroom-leaks-"))
    os.chdir(workspace)
    settings = Settings.load(workspace=workspace, provider="scripted")
    rows = []
    done = published = 0
    started = time.perf_counter()
    while done < runs:
        topics = [f"battery recycling, run {done + i + 1}" for i in range(every)]
        results = run_batch(topics, settings=settings, concurrency=4,
                            model_factory=lambda _topic: ScriptedModel(default=script([CLEAN_SECTIONS])))
        done += len(results)
        published += sum(r.status == "published" for r in results)
        rows.append((done, fds(), rss_mib(), time.perf_counter() - started, published))
        print(f"runs {done}: {rows[-1][1]} open fds, RSS {rows[-1][2]:.1f} MiB, {rows[-1][3]:.0f} s, "
              f"{published} published", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    out = args.out.resolve() if args.out else None
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = measure(args.runs, args.every)
    first, last = rows[0], rows[-1]
    lines = ["# Leaks over a long batch", "",
             f"Written by `.venv/bin/python bench/leaks.py --out bench/leaks.md`: {args.runs} scripted runs in one "
             f"process, `run_batch` {args.every} at a time (concurrency 4), style memory on, measured with no run in "
             f"flight. Load average before the run: {load}.", "",
             "| runs | open fds | RSS MiB | seconds | published |", "|---|---|---|---|---|",
             *[f"| {n} | {f} | {r:.1f} | {s:.0f} | {p} |" for n, f, r, s, p in rows], "",
             f"From run {first[0]} to run {last[0]}: open descriptors {first[1]} -> {last[1]} "
             f"({last[1] - first[1]:+d}), RSS {first[2]:.1f} -> {last[2]:.1f} MiB ({last[2] - first[2]:+.1f} MiB, "
             f"{(last[2] - first[2]) * 1024 / max(1, last[0] - first[0]):.1f} KiB a run).", ""]
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
