"""Where the writer's degeneration thresholds come from: each one measured on clean prose and on the
degenerate forms a small model writes, with the very functions the writer and the gate use.

    .venv/bin/python bench/degeneration.py [--out bench/degeneration.md]

Clean prose: the house-style fixtures (tests/style/fixtures), the clean drafts of tests/fixtures/editor,
and the model's own sections from ``bench/sampling.py`` (bench/sampling/shipped__*.txt; those
written with no penalty, none__*.txt, are the model's real degenerate prose).
Degenerate prose is built from the clean drafts the way the model degenerates: a looping line, a
paragraph restated with a word changed, a sentence repeated nearly word for word, an instruction
written out, an exemplar pasted in. Each threshold of ``flows/article.yaml`` should leave every clean
text alone and catch every degenerate one; the table says whether it does. Topic similarity loads
MiniLM from the local cache (about 10 s).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "style" / "fixtures"
EDITOR = REPO / "tests" / "fixtures" / "editor"
SAMPLES = REPO / "bench" / "sampling"
sys.path.insert(0, str(REPO / "src"))

from newsroom.crews import load_crews, prompt_text  # noqa: E402
from newsroom.stages.context import Degeneration, load_flow  # noqa: E402
from newsroom.stages.sections import References, judge  # noqa: E402
from newsroom.style.pack import default_pack  # noqa: E402
from newsroom.style.repetition import (  # noqa: E402
    copied_runs,
    distinct_ratio,
    ngram_index,
    repeats,
    split_sentences,
    words,
)


def _body(markdown: str) -> str:
    text = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def _sections(markdown: str) -> list[str]:
    parts = re.split(r"^## .*$", re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S), flags=re.M)
    return [_body(p) for p in parts if len(words(p)) >= 60]


def corpora() -> dict[str, list[str]]:
    clean = [t for t in yaml.safe_load((FIXTURES / "clean_prose.yaml").read_text(encoding="utf-8"))]
    pairs = yaml.safe_load((EDITOR / "pairs.yaml").read_text(encoding="utf-8"))
    drafts = [(EDITOR / p["clean"]).read_text(encoding="utf-8") for p in pairs]
    human = clean + _sections((FIXTURES / "article_ok.md").read_text(encoding="utf-8"))
    human += [s for d in drafts for s in _sections(d)]
    def sampled(config: str) -> list[str]:
        return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob(f"{config}__*.txt"))]

    return {"human": human, "model": sampled("shipped"), "model, no penalty": sampled("none")}


def degenerate(sections: list[str], prompts: tuple[str, ...], exemplar: str) -> dict[str, list[str]]:
    """The model's failure modes, planted into clean sections (one variant per section)."""
    out: dict[str, list[str]] = {"loop": [], "restated paragraph": [], "near-duplicate sentence": [],
                                 "instruction echo": [], "exemplar copy": []}
    instruction = next(p for p in prompts if len(words(p)) >= 12)
    for text in sections:
        sentences = split_sentences(text)
        first = sentences[0]
        out["loop"].append(text + "\n" + "\n".join([first] * 6))
        paragraph = text.split("\n\n")[0]
        swapped = re.sub(r"\b(the|a|and)\b", "its", paragraph, count=1)
        out["restated paragraph"].append(text + "\n\n" + swapped)
        changed = re.sub(r"\b(\w+)([.!?])$", r"also \1\2", first)
        out["near-duplicate sentence"].append(text + " " + changed)
        out["instruction echo"].append(text + "\n\n" + " ".join(instruction.split()[:40]))
        out["exemplar copy"].append(text + " " + " ".join(exemplar.split()[:30]))
    return out


def d3(text: str) -> float:
    return distinct_ratio(words(text), 3)


def near_dup(text: str, threshold: float) -> bool:
    return bool(repeats(split_sentences(text), min_words=6, threshold=threshold))


def _range(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def measure() -> list[str]:
    limits = load_flow(REPO / "flows").generate.degeneration
    prompts = prompt_text(load_crews(REPO / "crews"))
    pack = default_pack()
    found = corpora()
    drafts = [s for s in found["human"] if len(words(s)) >= 60]
    bad = degenerate(drafts, prompts, pack.exemplars[0].text)
    lines = [f"Clean texts: {len(found['human'])} written by people (fixtures; {len(drafts)} of 60+ words), "
             f"{len(found['model'])} sections written by the model with its shipped sampling (bench/sampling/, not "
             "assumed clean). "
             "Degenerate texts: each "
             "form planted into every clean human text of 60+ words.", ""]

    lines += ["## Distinct word trigrams (`min_distinct_3`)", "",
              f"The writer redrafts a section of 60+ words below **{limits.min_distinct_3}**.", "",
              "| texts | n | min / median / max | below threshold |", "|---|---|---|---|"]
    for name, texts in [("clean, human", drafts),
                        ("model, shipped sampling", [t for t in found["model"] if len(words(t)) >= 60]),
                        ("model with no repeat penalty", found["model, no penalty"]),
                        *[(f"degenerate: {k}", v) for k, v in bad.items() if k in ("loop", "restated paragraph")]]:
        values = [d3(t) for t in texts]
        below = sum(v < limits.min_distinct_3 for v in values)
        lines.append(f"| {name} | {len(values)} | {_range(values)} | {below} |")

    lines += ["", "## Near-duplicate sentences (`near_duplicate`)", "",
              f"A sentence of 6+ words this alike (difflib ratio) to an earlier one is a repeat; the writer uses "
              f"**{limits.near_duplicate}**.", "",
              "| threshold | clean human flagged | clean model flagged | near-duplicates caught | "
              "restated paragraphs caught |", "|---|---|---|---|---|"]
    for threshold in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        row = [sum(near_dup(t, threshold) for t in texts) for texts in
               (found["human"], found["model"], bad["near-duplicate sentence"], bad["restated paragraph"])]
        totals = [len(found["human"]), len(found["model"]), len(bad["near-duplicate sentence"]),
                  len(bad["restated paragraph"])]
        lines.append(f"| {threshold} | " + " | ".join(f"{a}/{b}" for a, b in zip(row, totals, strict=True)) + " |")

    prompt_grams = ngram_index(prompts, limits.echo_words)
    exemplar_grams = ngram_index([e.text for e in pack.exemplars], limits.copy_words)
    lines += ["", "## Echoed instructions and copied exemplars (`echo_words`, `copy_words`)", "",
              f"A run of {limits.echo_words} prompt words, or {limits.copy_words} exemplar words, in a section.", "",
              "| texts | with an echo | with a copy |", "|---|---|---|"]
    for name, texts in [("clean, human", found["human"]), ("model, shipped sampling", found["model"]),
                        ("degenerate: instruction echo", bad["instruction echo"]),
                        ("degenerate: exemplar copy", bad["exemplar copy"])]:
        echoes = sum(bool(copied_runs(t, prompt_grams, limits.echo_words)) for t in texts)
        copies = sum(bool(copied_runs(t, exemplar_grams, limits.copy_words)) for t in texts)
        lines.append(f"| {name} | {echoes}/{len(texts)} | {copies}/{len(texts)} |")

    lines += _topic(limits.min_topic_similarity)
    lines += _judged(found, bad, References.build(prompts, [e.text for e in pack.exemplars], limits), limits)
    return lines


def _judged(found: dict[str, list[str]], bad: dict[str, list[str]], refs: References,
            limits: Degeneration) -> list[str]:
    """All the writer's checks at once (``sections.judge``, length judged against the text's own)."""
    def flagged(texts: list[str]) -> str:
        n = sum(bool(judge(t, words_asked=len(words(t)), finish_reason="stop", earlier=[], refs=refs,
                           limits=limits)) for t in texts)
        return f"{n}/{len(texts)}"

    rows = [("clean, human", found["human"]), ("model, shipped sampling", found["model"]),
            ("model with no repeat penalty", found["model, no penalty"]), *bad.items()]
    return ["", "## Everything the writer checks, together", "",
            "`sections.judge` on each text (without the house-style and topic checks), as the writer runs it on "
            "a drafted section: a clean text should have no problem, a degenerate one at least one.", "",
            "| texts | with a problem |", "|---|---|", *[f"| {name} | {flagged(texts)} |" for name, texts in rows],
            "", "Texts written by people that the writer's checks flag (false positives):", "",
            *[f"- {problems}: ...{' '.join(text.split())[-90:]!r}" for text in found["human"]
              if (problems := judge(text, words_asked=len(words(text)), finish_reason="stop", earlier=[],
                                    refs=refs, limits=limits))],
            "", "The model's sections (shipped sampling) that the writer would redraft, read by hand: each restates "
            "earlier sentences in a closing paragraph, so these are true repeats:", "",
            *[f"- {problems}: ...{' '.join(text.split())[-90:]!r}" for text in found["model"]
              if (problems := judge(text, words_asked=len(words(text)), finish_reason="stop", earlier=[],
                                    refs=refs, limits=limits))]]


def _topic(threshold: float) -> list[str]:
    from newsroom.style.embedder import text_similarity

    pairs = yaml.safe_load((EDITOR / "pairs.yaml").read_text(encoding="utf-8"))
    on, off = [], []
    for pair in pairs:
        for section in _sections((EDITOR / pair["clean"]).read_text(encoding="utf-8")):
            for other in pairs:
                (on if other is pair else off).append(text_similarity(other["topic"], section))
    return ["", "## Topic similarity (`min_topic_similarity`)", "",
            f"MiniLM cosine of each clean section to its own article's topic, and to the other four topics; the "
            f"writer redrafts a section below **{threshold}** (it compares with the heading, points and title, "
            "which are closer still).", "",
            "| pairing | n | min / median / max | below threshold |", "|---|---|---|---|",
            f"| own topic | {len(on)} | {_range(on)} | {sum(v < threshold for v in on)} |",
            f"| another article's topic | {len(off)} | {_range(off)} | {sum(v < threshold for v in off)} |"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = p.parse_args(argv)
    text = "\n".join(["# Degeneration thresholds, measured", "",
                      "Written by `.venv/bin/python bench/degeneration.py --out bench/degeneration.md`. "
                      "Deterministic but for MiniLM; no LLM runs.", "", *measure(), ""])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
