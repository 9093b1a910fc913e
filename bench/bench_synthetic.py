"""Synthetic style-memory entries and query sentences, from the real pack and a fixed seed.

Each synthetic exemplar is one sentence of the real pack (an exemplar passage or a rule's example)
followed by one generated news sentence, so the store holds house-style prose at realistic lengths
(25-60 words) without 10,000 copies of the same text. Query sentences are generated with another
seed (never stored), half of them clean and half the pack's own rule examples (which break a rule,
so ``StyleMemory.query`` also runs its checker-ranking path on them).
"""

from __future__ import annotations

import random
import re
from typing import Any

SEED = 20240514

SUBJECTS = ["The council", "The regulator", "Shipping firms", "The central bank", "Hospital trusts",
            "Water companies", "Rail operators", "Farmers in the east", "The treasury", "Local schools",
            "Carmakers", "Port authorities", "Housing associations", "The energy board", "Universities",
            "Small retailers", "The transport ministry", "Insurers", "Two of the largest banks", "The mayor"]
VERBS = ["raised", "cut", "delayed", "doubled", "reviewed", "published", "abandoned", "extended", "questioned",
         "financed", "reformed", "tested", "defended", "postponed", "simplified", "scrapped"]
OBJECTS = ["its spending plan", "the price cap", "the new timetable", "a pilot scheme", "the annual forecast",
           "the tariff on imported steel", "its climate targets", "the pension fund's strategy",
           "a recycling programme", "the rules on mortgage lending", "the school meals budget",
           "a bid for the franchise", "its flood defences", "the apprenticeship levy", "the bus subsidy",
           "the licence for the new mine"]
TAILS = ["after a poor harvest", "despite objections from residents", "for the third year running",
         "ahead of the election", "to meet the new standard", "because costs kept rising",
         "in the northern region", "with little warning", "after a court ruling", "as demand fell",
         "once the inquiry had reported", "while wages stagnated"]
SOURCES = ["according to its annual report", "the Office for National Statistics said",
           "its chief executive told a select committee", "the minutes of the board meeting show",
           "a spokesman for the union said", "the auditor's report found", "the company said on Tuesday",
           "filings at Companies House show"]


def generated_sentence(rng: random.Random) -> str:
    return (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}, "
            f"{rng.choice(SOURCES)}.")


def pack_sentences(pack: Any) -> list[str]:
    """Sentences of the real pack: exemplar passages split into sentences, and rule examples."""
    out: list[str] = []
    for ex in pack.exemplars:
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", ex.text) if len(s.split()) >= 6]
    for rule in pack.rules:
        out += [e.strip() for e in rule.examples if len(e.split()) >= 4 and "\n" not in e]
    return out


def synthetic_exemplars(pack: Any, count: int, seed: int = SEED) -> list[Any]:
    """``count`` ``Exemplar`` entries (ids ``bench-syn-00001``...) built from the pack and a fixed seed."""
    from newsroom.style.pack import CATEGORIES, Exemplar

    rng = random.Random(seed)
    pool = pack_sentences(pack)
    categories = [c for c in CATEGORIES if c not in ("structure", "front_matter")]
    return [Exemplar(id=f"bench-syn-{i:05d}", category=rng.choice(categories), title=f"Synthetic passage {i}",
                     text=f"{rng.choice(pool)} {generated_sentence(rng)}", shows="benchmark filler")
            for i in range(1, count + 1)]


def query_sentences(pack: Any, count: int, seed: int = SEED + 1) -> list[str]:
    """``count`` query texts: alternately a generated sentence and one of the pack's rule examples."""
    rng = random.Random(seed)
    examples = [e for r in pack.rules for e in r.examples if "\n" not in e]
    return [generated_sentence(rng) if i % 2 == 0 else rng.choice(examples) for i in range(count)]
