"""Write the run's results: ``PREFIX.json`` (everything) and ``PREFIX.md`` (the table a reader checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3g}"


def _target(m: dict[str, Any]) -> str:
    t = m.get("target")
    return "—" if not t else f"{t['op']} {_num(t['value'])} {t['unit']}"


def _met(m: dict[str, Any]) -> str:
    if m.get("met") is None:
        return "—"
    return "yes" if m["met"] else "**NO**"


def _ratio(m: dict[str, Any]) -> str:
    if m.get("ratio") is None:
        return "—"
    return f"{m['ratio']:.2f}× ({m['ratio_of']})"


def _how(m: dict[str, Any]) -> str:
    parts = [m.get("stat") or "", f"n={m['n']:,}" if m.get("n") is not None else ""]
    return "; ".join(p for p in parts if p) or "—"


def table(doc: dict[str, Any]) -> list[str]:
    rows = ["| measurement | value | target | met? | ratio vs bare component | statistic |",
            "|---|---|---|---|---|---|"]
    for res in doc["measurements"]:
        title = res.get("title", res["name"])
        if res.get("error"):
            rows.append(f"| **{title}** | ERROR: {res['error']} | | | | |")
        for m in res.get("metrics", []):
            rows.append(f"| {title}: {m['label']} | {_num(m['value'])} {m['unit']} | {_target(m)} | {_met(m)} "
                        f"| {_ratio(m)} | {_how(m)} |")
    return rows


def _machine(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    dirty = "" if not m.get("git_dirty_files") else f" (+{m['git_dirty_files']} uncommitted files)"
    return [
        f"- date: {m['date']}; total run time {doc['total_seconds']} s",
        f"- CPU: {m['cpu_model']}; {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable "
        f"(cgroup cpu.max: {m['cgroup_cpu_max']}); RAM {m['ram_gib']} GiB",
        f"- load average (1/5/15 min) at start {m['loadavg_at_start']}, at end {doc['loadavg_at_end']}",
        f"- {m['platform']}; Python {m['python']}",
        f"- git {m['git_commit']}{dirty}",
        f"- packages: {pk}",
    ]


def _details(res: dict[str, Any]) -> list[str]:
    out = [f"### {res.get('title', res['name'])} (`{res['name']}`)", ""]
    if res.get("method"):
        out += [f"Method: {res['method']}", ""]
    out.append(f"Command: `{res.get('command')}`; load average before {res.get('loadavg_before')}, "
               f"after {res.get('loadavg_after')}; worker process {res.get('process')}.")
    for note in res.get("notes", []):
        out.append(f"- {note}")
    for item in res.get("not_measured", []):
        out.append(f"- not measured: {item}")
    if res.get("error"):
        out.append(f"- ERROR: {res['error']}")
    return [*out, ""]


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# newsroom benchmarks", ""]
    if doc.get("quick"):
        lines += ["**QUICK run (`--quick`): smoke-test sizes. Do not quote these numbers.**", ""]
    lines += ["Every value below was measured in this run on this machine; nothing is copied or estimated. "
              "Ratios compare newsroom's path with the bare component it wraps, measured in the same process "
              "and run, interleaved. A load average near or above the number of usable CPUs means other work "
              "shared the machine and the numbers are noisy.", ""]
    lines += _machine(doc) + ["", *table(doc), "", "## Method and notes", ""]
    for res in doc["measurements"]:
        lines += _details(res)
    return "\n".join(lines) + "\n"


def write_reports(doc: dict[str, Any], prefix: Path) -> str:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    text = markdown(doc)
    Path(f"{prefix}.md").write_text(text)
    return text
