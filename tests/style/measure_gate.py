"""Measure the style gate the way it is judged: recall over planted violations per category and
false positives over clean prose, through the real ``newsroom check --fragment --json``.

    .venv/bin/python tests/style/measure_gate.py [PLANTED.yaml] [CLEAN.yaml]

PLANTED is a mapping ``category: [text, ...]``; CLEAN is a list of texts. Each text is written to
its own file and all are checked in one ``newsroom check`` process. Not collected by pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

FIXTURES = Path(__file__).parent / "fixtures"


def run_check(texts: list[str], workdir: Path) -> list[dict]:
    paths = []
    for i, text in enumerate(texts):
        path = workdir / f"t{i:04d}.md"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    exe = Path(sys.executable).parent / "newsroom"
    proc = subprocess.run([str(exe), "check", "--fragment", "--json", *paths], capture_output=True, text=True,
                          check=False)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"newsroom check failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def main() -> None:
    planted_path = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES / "planted.yaml"
    clean_path = Path(sys.argv[2]) if len(sys.argv) > 2 else FIXTURES / "clean_prose.yaml"
    planted: dict[str, list[str]] = yaml.safe_load(planted_path.read_text(encoding="utf-8"))
    clean: list[str] = yaml.safe_load(clean_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        flat = [(cat, t) for cat, texts in planted.items() for t in texts]
        results = run_check([t for _, t in flat] + clean, Path(tmp))
    found, total = 0, 0
    print(f"{'category':<12} recall")
    for cat in planted:
        hits = [cat in {v["category"] for v in r["violations"]}
                for (c, _), r in zip(flat, results, strict=False) if c == cat]
        found, total = found + sum(hits), total + len(hits)
        misses = [t for (c, t), r in zip(flat, results, strict=False)
                  if c == cat and cat not in {v["category"] for v in r["violations"]}]
        print(f"{cat:<12} {sum(hits)}/{len(hits)} = {sum(hits) / len(hits):.3f}")
        for t in misses:
            print(f"    missed: {t!r}")
    print(f"{'all':<12} {found}/{total} = {found / total:.3f}")
    clean_results = results[len(flat):]
    flagged = [(t, r) for t, r in zip(clean, clean_results, strict=True) if r["violations"]]
    print(f"clean texts with any violation: {len(flagged)}/{len(clean)}")
    for t, r in flagged:
        print(f"    {t[:70]!r}: {[(v['rule_id'], v['excerpt']) for v in r['violations']]}")


if __name__ == "__main__":
    main()
