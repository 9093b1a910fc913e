"""Grounded figures and citations (issue 11): every figure traced to a source, every [n] checked
against source n, and the attribution rule for human-written text measured on unseen paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newsroom.style.checker import check_text
from newsroom.style.citations import cited, numbers_in, renumber
from newsroom.style.figures import find_figures, same_figure
from newsroom.style.grounding import cite_figures, fact_table
from newsroom.style.hits import CheckContext

NOTES = Path(__file__).resolve().parents[2] / "eval" / "sources" / "batteries"
SOURCES = tuple((p.read_text().splitlines()[0].lstrip("# "), p.read_text())
                for p in (NOTES / "agency.md", NOTES / "prices.md", NOTES / "union.md"))
FIXTURES = Path(__file__).parent / "fixtures"

CORRECT = """---
layout: post
title: Battery recyclers run short of people
date: 2026-01-02
categories: [batteries]
tags: [batteries]
description: Recyclers have the packs and the buyers but not the technicians.
---

## Packs pile up

Shipments of spent packs to the region's recyclers rose by 38% in 2025 [1]. Inspectors recorded 23
fires at storage yards, most of them in packs that arrived without a label [1].

## Prices fall

Recovered cobalt traded at £19,500 a tonne in 2025 [2]. Seven recyclers now charge carmakers a gate
fee, with a median of £310 a tonne [2].

## People are the bottleneck

The region has about 1,200 certified technicians and needs 2,000 by 2027, according to Aled Price of
the technicians' union [3].
"""
# One invented figure, one citation pointing at the wrong source, one citation of a source that
# does not exist.
PLANTED = (CORRECT.replace("rose by 38% in 2025 [1]", "rose by 52% in 2025 [1]")
           .replace("£19,500 a tonne in 2025 [2]", "£19,500 a tonne in 2025 [1]")
           .replace("the technicians' union [3]", "the technicians' union [4]"))
GROUNDING = {"attribution.ungrounded-figure", "attribution.citation-unsupported", "attribution.citation-missing"}


CONTEXT = CheckContext(sources=SOURCES, evidence=tuple(t for _, t in SOURCES))


def _grounding(text: str) -> list[tuple[str, str]]:
    result = check_text(text, fragment=True, context=CONTEXT)
    return [(v.rule_id, v.message) for v in result.violations if v.rule_id in GROUNDING]


def test_the_correct_article_passes() -> None:
    # Its text rules: the grounding rules are text-level (the article is too short for the length rule).
    result = check_text(CORRECT, fragment=True, context=CONTEXT)
    assert result.passed and result.violations == [], [(v.rule_id, v.message) for v in result.violations]


def test_an_invented_figure_a_wrong_citation_and_a_missing_source_are_three_violations() -> None:
    found = _grounding(PLANTED)
    assert sorted(rule for rule, _ in found) == sorted(GROUNDING), found
    by_rule = {rule: message for rule, message in found}
    assert "'52%'" in by_rule["attribution.ungrounded-figure"] and "rose by 52% in 2025" in by_rule[
        "attribution.ungrounded-figure"]
    assert "[1] does not support '£19,500'" in by_rule["attribution.citation-unsupported"]
    assert "[4] cites no source: the article has 3 source(s)" in by_rule["attribution.citation-missing"]


def test_with_no_sources_any_figure_is_ungrounded_and_without_context_none_is_checked() -> None:
    text = "Shipments rose by 38% in 2025 [1]."
    no_sources = check_text(text, fragment=True, context=CheckContext(sources=()))
    assert "no source was given" in next(v.message for v in no_sources.violations
                                         if v.rule_id == "attribution.ungrounded-figure")
    assert not [v for v in check_text(text, fragment=True).violations if v.rule_id in GROUNDING]


def test_figures_match_across_forms() -> None:
    pairs = [("1.5m", "1,500,000"), ("45%", "45 per cent"), ("£2bn", "£2 billion"), ("30 km", "30 kilometres")]
    for a, b in pairs:
        (fa,), (fb,) = find_figures(f"It was {a} then."), find_figures(f"It was {b} then.")
        assert same_figure(fa, fb), (a, b)
    (usd,), (gbp,) = find_figures("It cost $2bn."), find_figures("It cost £2bn.")
    assert not same_figure(usd, gbp)
    assert [f.text for f in find_figures("In 2024, three of 12 sites on the A40 cost £5m")] == ["£5m"]


def test_citations_are_numbered_by_first_use_and_missing_ones_stay_missing() -> None:
    texts, order = renumber(["Rents fell [3]. Prices rose [1, 3].", "Jobs [7] and [2-3]."], 3)
    assert texts == ["Rents fell [1]. Prices rose [2, 1].", "Jobs [4] and [3, 1]."] and order == [3, 1, 2]
    assert numbers_in("2-4") == [2, 3, 4] and cited(["[5] then [5, 6]"]) == [5, 6]


def test_the_fact_table_says_where_each_figure_was_found() -> None:
    rows = fact_table(PLANTED, [(title, f"{i}.md", text) for i, (title, text) in enumerate(SOURCES)], [])
    by_figure = {r["figure"]: r for r in rows}
    assert by_figure["52%"]["source"] is None and by_figure["52%"]["found"] == "not found"
    assert by_figure["£19,500"]["source"].startswith("Metal prices") and "19,500" in by_figure["£19,500"]["found"]


# -- the attribution rule for human-written text (no sources) ----------------------------------------------
CLEAN = yaml.safe_load((FIXTURES / "attribution_clean.yaml").read_text(encoding="utf-8"))
UNSOURCED = yaml.safe_load((FIXTURES / "attribution_planted.yaml").read_text(encoding="utf-8"))


def test_the_new_clean_paragraphs_are_many_and_unseen() -> None:
    assert len(CLEAN) >= 20


@pytest.mark.parametrize("paragraph", CLEAN, ids=[f"clean-{i}" for i in range(len(CLEAN))])
def test_a_figure_attributed_anywhere_in_its_paragraph_is_not_flagged(paragraph: str) -> None:
    flagged = [v.message for v in check_text(paragraph, fragment=True).violations
               if v.rule_id == "attribution.unsourced-statistic"]
    assert flagged == []


@pytest.mark.parametrize("paragraph", UNSOURCED, ids=[f"planted-{i}" for i in range(len(UNSOURCED))])
def test_a_figure_with_no_source_in_its_paragraph_is_still_caught(paragraph: str) -> None:
    assert "attribution.unsourced-statistic" in [v.rule_id for v in check_text(paragraph, fragment=True).violations]


# -- citations the writer left out, added by code ----------------------------------------------------------
def test_an_uncited_figure_gets_the_source_that_holds_it_and_its_names() -> None:
    texts = [t for _, t in SOURCES]
    uncited = _strip_citations(CORRECT.split("## Packs pile up\n\n", 1)[1])
    cited_text, added = cite_figures(uncited, texts)
    assert _grounding(CORRECT.split("## Packs pile up", 1)[0] + "## Packs pile up\n\n" + cited_text) == []
    assert (cited_text.count("[1]"), cited_text.count("[2]"), cited_text.count("[3]"), len(added)) == (1, 2, 1, 4)
    assert cited_text.endswith("according to Aled Price of the technicians' union [3].\n")


def test_no_citation_for_a_figure_no_source_holds_or_a_name_its_source_lacks() -> None:
    texts = [t for _, t in SOURCES]
    text = "Shipments rose by 52% in 2025. Shipments rose by 38% in 2025, said Greta Lindqvist. Prices fell [2]."
    assert cite_figures(text, texts) == (text, [])


def _strip_citations(text: str) -> str:
    import re

    return re.sub(r" \[\d+\]", "", text)
