"""Does the editor discriminate? Runs the editor agent (the real prompt, crewAI and the local model)
on each pair of tests/fixtures/editor: a clean draft and a failed one on the same topic and argument.

    .venv/bin/python bench/editor.py [--model NAME] [--out bench/editor.md]

Prints, and writes as Markdown, each draft's score (share of checks passed, 0-1), each check's answer
and why code did not accept it. A discriminating editor scores every clean draft at or above the
flow's ``min_editor_score`` and every failed one below it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "tests" / "fixtures" / "editor"


def run(model: str | None) -> list[dict[str, object]]:
    from newsroom.api import build_context
    from newsroom.config import Settings
    from newsroom.stages.quality_gate import editor

    workspace = Path(tempfile.mkdtemp(prefix="newsroom-editor-"))
    settings = Settings.load(workspace=workspace, model=model)
    ctx = build_context(settings, "bench-editor")
    rows = []
    try:
        for pair in yaml.safe_load((PAIRS / "pairs.yaml").read_text(encoding="utf-8")):
            for kind in ("clean", "bad"):
                body = (PAIRS / pair[kind]).read_text(encoding="utf-8")
                started = time.perf_counter()
                review = editor(ctx, body, pair["topic"], pair["thesis"])
                rows.append({"pair": pair["id"], "kind": kind, "score": review.score,
                             "seconds": round(time.perf_counter() - started, 1),
                             "checks": [c.model_dump() for c in review.checks],
                             "fixes": [f.model_dump() for f in review.required_fixes],
                             "dropped_fixes": len(review.dropped_fixes)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        if ctx.style is not None:
            ctx.style.close()
        ctx.metered.finish("ok", command="bench-editor")
    return rows


def table(rows: list[dict[str, object]], threshold: float) -> str:
    lines = ["| pair | draft | score | passes? | on_topic | makes_argument | specific | new_points | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        checks = {c["name"]: c for c in r["checks"]}  # type: ignore[index, union-attr]
        cells = [f"{c['answer']}{'' if c['passed'] else ' ✗ ' + (c['evidence'] or 'answered no')}"
                 for c in (checks[n] for n in ("on_topic", "makes_argument", "specific", "new_points"))]
        verdict = "yes" if float(r["score"]) >= threshold else "no"  # type: ignore[arg-type]
        lines.append(f"| {r['pair']} | {r['kind']} | {r['score']} | {verdict} | {' | '.join(cells)} | {r['seconds']} |")
    clean_ok = sum(1 for r in rows if r["kind"] == "clean" and float(r["score"]) >= threshold)  # type: ignore[arg-type]
    bad_ok = sum(1 for r in rows if r["kind"] == "bad" and float(r["score"]) < threshold)  # type: ignore[arg-type]
    n = len(rows) // 2
    return "\n".join(lines) + f"\n\nclean drafts at or above {threshold}: {clean_ok}/{n}; " \
                              f"failed drafts below it: {bad_ok}/{n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    from newsroom.paths import data_dir
    from newsroom.stages.context import load_flow

    threshold = load_flow(data_dir("flows")).quality_gate.min_editor_score
    rows = run(args.model)
    text = table(rows, threshold)
    print(text)
    if args.out:
        header = (f"# The editor on clean and failed drafts\n\nCommand: `.venv/bin/python bench/editor.py "
                  f"--out {args.out}` on {time.strftime('%Y-%m-%d')}.\n\n")
        Path(args.out).write_text(header + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
