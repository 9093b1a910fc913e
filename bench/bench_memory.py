"""7. Memory: peak RSS of ``newsroom generate`` on the local model, run as a real subprocess.

The peak comes from ``os.wait4`` on that child's pid (its own ``ru_maxrss``; the llama.cpp server
runs inside the same process), not from ``RUSAGE_CHILDREN``, which would be the maximum over every
child this worker has waited for.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from bench_common import WorkerContext, child_env, log, metric, run_child

TOPIC = "why finished offshore wind farms wait years for a grid connection"


def measure(ctx: WorkerContext) -> dict[str, Any]:
    env = child_env(ctx.tmp, ctx.workspace)
    out = ctx.tmp / "generate.json"
    cmd = [ctx.newsroom_exe, "--workspace", str(ctx.workspace), "generate", TOPIC, "--max-revisions", "0",
           "--out", str(ctx.workspace / "articles"), "--json"]
    log("memory: newsroom generate on the local model in a subprocess (fresh workspace)")
    with out.open("w") as fh:
        child = run_child(cmd, env=env, cwd=ctx.workspace, timeout_s=1700, stdout=fh, stderr=sys.stderr)
    try:
        doc = json.loads(out.read_text())
    except ValueError:
        doc = {}
    if child.returncode not in (0, 3):
        raise RuntimeError(f"newsroom generate exited with {child.returncode}")
    return {
        "title": "Memory",
        "method": ("`newsroom --workspace TMP generate TOPIC --max-revisions 0 --json` as a subprocess (all flags at "
                   "defaults: local model, style memory, crewAI Flow), fresh workspace; peak RSS from os.wait4."),
        "metrics": [
            metric("memory.generate_peak_rss_mib", "peak RSS of a local `newsroom generate`", child.max_rss_mib,
                   "MiB", n=1, stat="ru_maxrss of the child"),
            metric("memory.generate_wall_s", "wall time of that `newsroom generate` process", child.wall_s, "s",
                   n=1, cpu_s=round(child.cpu_s, 2)),
        ],
        "notes": [f"exit code {child.returncode}, status {doc.get('status')!r}, "
                  f"{(doc.get('usage') or {}).get('llm_calls')} LLM calls, process CPU time {child.cpu_s:.1f} s"],
    }
