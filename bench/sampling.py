"""Which llama.cpp sampling settings keep a small model's prose from looping: each candidate asked
for the same sections, with the same seeds, on the embedded server the product uses.

    .venv/bin/python bench/sampling.py [--model NAME] [--seeds 2] [--out bench/sampling.md]

Candidates: no penalty at all; the catalogue's shipped ``sampling.prose`` for the model; DRY with
only the end-of-turn token as a sequence breaker (llama.cpp's default breakers include newline and
colon, which let a looping "X: Y" line escape); presence and frequency penalties; DRY and a light
repeat penalty together. Each section is judged with the writer's own checks (``sections.judge``)
and its distinct-trigram ratio. The texts land in ``bench/sampling/`` (``<config>__<task>__<seed>.txt``);
``bench/degeneration.py`` reads the shipped configuration's as the model's clean prose.
Takes about 10 minutes for two seeds on 2 quiet cores with the default model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "bench" / "sampling"
sys.path.insert(0, str(REPO / "src"))

import openai  # noqa: E402

from newsroom.crews import load_crews, prompt_text  # noqa: E402
from newsroom.llm.catalogue import resolve  # noqa: E402
from newsroom.llm.local import LOCAL_API_KEY, LocalServer, ServerConfig  # noqa: E402
from newsroom.stages.context import load_flow  # noqa: E402
from newsroom.stages.sections import References, judge  # noqa: E402
from newsroom.style.pack import default_pack  # noqa: E402
from newsroom.style.repetition import distinct_ratio, words  # noqa: E402

WORDS = 250
TASKS = [
    ("motorways", "Why cities are tearing down urban motorways", "What happened when Seoul removed its road",
     "the elevated road over the Cheonggyecheon stream; what traffic did after it closed"),
    ("batteries", "The economics of battery recycling in Britain", "Who pays for old batteries",
     "fees charged to carmakers for spent packs; what falling metal prices do to recyclers"),
    ("trees", "Why cities are planting more trees", "Cooler streets in a heatwave",
     "shade over pavements and bus stops; how much cheaper trees are than air conditioning"),
]
SYSTEM = "You are a staff writer for a serious weekly news magazine. You write in British English."
DRY = {"dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 2, "dry_sequence_breakers": ["<|im_end|>"]}


def candidates(shipped: dict[str, object]) -> dict[str, dict[str, object]]:
    return {"none": {}, "shipped": dict(shipped), "dry": DRY,
            "presence": {"presence_penalty": 0.5, "frequency_penalty": 0.3},
            "dry+repeat": {**DRY, "dry_allowed_length": 3, "repeat_penalty": 1.05, "repeat_last_n": 256}}


def prompt(title: str, heading: str, points: str) -> str:
    return (f"Article: {title}\nWrite the section \"{heading}\". Cover: {points}.\n"
            f"Write three paragraphs, about {WORDS} words in all. Plain prose only: no headings, no lists. "
            "Do not use any numbers, percentages or amounts.")


def run(model: str | None, seeds: int, only: list[str] | None = None, threads: int | None = None
        ) -> tuple[str, dict[str, object], list[dict[str, object]]]:
    label, path, sampling = resolve(model)
    server = LocalServer.shared(ServerConfig(model_path=path, n_ctx_per_slot=4096, parallel=1, alias=label,
                                             threads=threads))
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=LOCAL_API_KEY, timeout=600)
    limits = load_flow(REPO / "flows").generate.degeneration
    refs = References.build(prompt_text(load_crews(REPO / "crews")), [e.text for e in default_pack().exemplars],
                            limits)
    OUT_DIR.mkdir(exist_ok=True)
    rows: list[dict[str, object]] = []
    try:
        for name, extra in candidates(sampling.prose).items():
            if only and name not in only:
                continue
            for task, title, heading, points in TASKS:
                for seed in range(1, seeds + 1):
                    started = time.perf_counter()
                    reply = client.chat.completions.create(
                        model=label, max_tokens=700, temperature=0.7, seed=seed, extra_body=extra,
                        messages=[{"role": "system", "content": SYSTEM},
                                  {"role": "user", "content": prompt(title, heading, points)}])
                    seconds = time.perf_counter() - started
                    text = reply.choices[0].message.content or ""
                    (OUT_DIR / f"{name}__{task}__{seed}.txt").write_text(text.strip() + "\n", encoding="utf-8")
                    problems = judge(text, words_asked=WORDS, finish_reason=reply.choices[0].finish_reason,
                                     earlier=[], refs=refs, limits=limits)
                    out_tokens = reply.usage.completion_tokens if reply.usage else 0
                    rows.append({"config": name, "task": task, "seed": seed, "words": len(words(text)),
                                 "distinct_3": round(distinct_ratio(words(text), 3), 3), "problems": problems,
                                 "output_tokens": out_tokens, "seconds": round(seconds, 1)})
                    print(json.dumps(rows[-1]), flush=True)
    finally:
        server.stop()
    return label, sampling.prose, rows


def report(label: str, shipped: dict[str, object], rows: list[dict[str, object]], load: str) -> str:
    lines = ["# Prose sampling, measured", "",
             f"Written by `.venv/bin/python bench/sampling.py --out bench/sampling.md` on `{label}` (embedded "
             f"llama.cpp, one slot, temperature 0.7). Each configuration wrote the same {len(TASKS)} sections "
             f"with the same seeds, about {WORDS} words each. Load average before the run: {load}.", "",
             f"The catalogue ships `sampling.prose: {json.dumps(shipped)}` for this model (`shipped` below).", "",
             "| configuration | sections | distinct trigrams min / median | sections the writer would redraft "
             "| words median | output tok/s |", "|---|---|---|---|---|---|"]
    for name, extra in candidates(shipped).items():
        mine = [r for r in rows if r["config"] == name]
        if not mine:
            continue
        d3 = [float(r["distinct_3"]) for r in mine]  # type: ignore[arg-type]
        redraft = sum(bool(r["problems"]) for r in mine)
        rate = sum(int(r["output_tokens"]) for r in mine) / sum(float(r["seconds"]) for r in mine)  # type: ignore[arg-type]
        lines.append(f"| {name} `{json.dumps(extra)}` | {len(mine)} | {min(d3):.3f} / {statistics.median(d3):.3f} "
                     f"| {redraft} | {statistics.median(int(r['words']) for r in mine):.0f} | {rate:.1f} |")  # type: ignore[call-overload]
    lines += ["", "What the writer's checks found in each section:", ""]
    lines += [f"- {r['config']} / {r['task']} / seed {r['seed']}: {'; '.join(r['problems']) or 'clean'}"  # type: ignore[arg-type]
              for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a catalogue name or a GGUF path [default: the catalogue's default]")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--configs", nargs="+", choices=list(candidates({})), help="only these configurations")
    p.add_argument("--threads", type=int, help="llama.cpp threads [default: the server's]")
    p.add_argument("--out", type=Path, help="write the Markdown report here")
    args = p.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    label, shipped, rows = run(args.model, args.seeds, args.configs, args.threads)
    text = report(label, shipped, rows, load)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
