"""``make bench``: measure newsroom on this machine and write bench/results.json and bench/results.md.

Every number in the output is measured in this run. Each measurement runs in its own fresh
subprocess (so import caches, loaded models and threads never leak from one into the next), with
HOME, the workspace and crewAI's storage in temp dirs and telemetry off.

    .venv/bin/python bench/run.py                 # everything (aims at <15 min on 2 quiet cores)
    .venv/bin/python bench/run.py --only style    # one measurement (repeatable)
    .venv/bin/python bench/run.py --quick         # small n: a smoke test, not numbers to quote
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench_common import BENCH_DIR, WorkerContext, child_env, log, machine_info, run_child

# name -> module with ``measure(ctx) -> dict``; the order is the run order.
MEASUREMENTS = {
    "metered": "bench_metered",
    "style": "bench_style",
    "local": "bench_local",
    "article": "bench_article",
    "flow": "bench_flow",
    "cli": "bench_cli",
    "memory": "bench_memory",
    "cluster": "cluster",  # needs Postgres (make setup installs it); also runs alone: bench/cluster.py
}
TIMEOUT_S = {"article": 1800, "memory": 1800, "cluster": 1800}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", choices=list(MEASUREMENTS), metavar="NAME",
                   help=f"run only this measurement (repeatable): {', '.join(MEASUREMENTS)}")
    p.add_argument("--quick", action="store_true", help="small n for a smoke test; the output says so")
    p.add_argument("--out", default=None, metavar="PREFIX",
                   help="write PREFIX.json and PREFIX.md [default: bench/results, or bench/results-only-NAMES "
                        "with --only]")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp workspaces for inspection")
    p.add_argument("--worker", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker(args: argparse.Namespace) -> int:
    """Run one measurement in this (fresh) process and write its result as JSON."""
    tmp = Path(args.tmp)
    ctx = WorkerContext(name=args.worker, tmp=tmp, workspace=Path(os.environ["NEWSROOM_WORKSPACE"]),
                        quick=args.quick)
    started = time.perf_counter()
    try:
        result = importlib.import_module(MEASUREMENTS[args.worker]).measure(ctx)
        result["error"] = None
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}", "metrics": []}
    result["worker_seconds"] = round(time.perf_counter() - started, 2)
    Path(args.result).write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["error"] is None else 1


def spawn(name: str, root: Path, quick: bool) -> dict[str, Any]:
    """Run measurement ``name`` in a fresh subprocess with its own temp HOME and workspace."""
    tmp = root / name
    workspace = tmp / "workspace"
    env = child_env(tmp, workspace)
    result_file = tmp / "result.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--result", str(result_file),
           "--tmp", str(tmp)] + (["--quick"] if quick else [])
    load_before = [round(x, 2) for x in os.getloadavg()]
    log(f"== {name}: starting (load average {load_before})")
    child = run_child(cmd, env=env, cwd=workspace, timeout_s=TIMEOUT_S.get(name, 1200), stdout=sys.stderr,
                      stderr=None)
    if result_file.exists():
        result = json.loads(result_file.read_text())
    else:
        result = {"error": f"the worker exited with code {child.returncode} and wrote no result", "metrics": []}
    result.update({"name": name, "command": f"{Path(sys.executable).name} bench/run.py --only {name}"
                   + (" --quick" if quick else ""),
                   "loadavg_before": load_before, "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                   "process": {"wall_s": round(child.wall_s, 2), "cpu_s": round(child.cpu_s, 2),
                               "max_rss_mib": round(child.max_rss_mib, 1), "exit_code": child.returncode}})
    log(f"== {name}: {'FAILED: ' + result['error'] if result.get('error') else 'done'} in {child.wall_s:.1f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: the running worker is killed and the temp dirs are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.worker:
        return worker(args)
    names = args.only or list(MEASUREMENTS)
    names = [n for n in MEASUREMENTS if n in names]  # run order is fixed
    prefix = Path(args.out) if args.out else BENCH_DIR / ("results" if not args.only
                                                          else "results-only-" + "-".join(names))
    root = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    log(f"measurements: {', '.join(names)}{' (QUICK: smoke-test sizes)' if args.quick else ''}; temp dir {root}")
    machine = machine_info()
    started = time.perf_counter()
    try:
        results = [spawn(name, root, args.quick) for name in names]
    finally:
        if not args.keep_tmp:
            shutil.rmtree(root, ignore_errors=True)
    from bench_report import write_reports

    doc = {"machine": machine, "quick": args.quick, "measurements": results,
           "total_seconds": round(time.perf_counter() - started, 1),
           "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]}
    markdown = write_reports(doc, prefix)
    sys.stdout.write(markdown)
    log(f"wrote {prefix}.json and {prefix}.md in {doc['total_seconds']} s")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
