"""The eval harness's own measurements: grounding counted from the article and the notes, and the
topics file in both of its forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.errors import ConfigError
from newsroom.evaluation import grounding, read_eval_topics

NOTES = ["Traffic fell from 61,000 vehicles a day to 52,000, a fall of 15%.",
         "The flyover cost £86 million to demolish."]
ARTICLE = """---
title: "Roads"
---

# Roads

## What happened

Traffic fell by 15% after the flyover came down [1]. Demolition cost £86 million [2].

## References

1. Council review (council.md)
2. Land note (land.md)
"""


def test_a_grounded_article_has_every_figure_sourced_and_every_citation_resolved() -> None:
    assert grounding(ARTICLE, NOTES) == {"figures": 2, "figures_unsourced": 0, "citations": 2,
                                         "citations_unresolved": 0, "references_exact": True}


def test_an_invented_figure_a_dangling_citation_and_an_uncited_reference_are_counted() -> None:
    article = ARTICLE.replace("Demolition cost £86 million [2].", "Demolition cost £90 million [3].")
    assert grounding(article, NOTES) == {"figures": 2, "figures_unsourced": 1, "citations": 2,
                                         "citations_unresolved": 1, "references_exact": False}


def test_topics_come_from_a_plain_list_or_a_yaml_list_with_sources(tmp_path: Path) -> None:
    plain = tmp_path / "topics.txt"
    plain.write_text("# a comment\nWhy trees\n\nWhy roads\n", encoding="utf-8")
    assert read_eval_topics(plain) == [("Why trees", None), ("Why roads", None)]
    grounded = tmp_path / "grounded.yaml"
    grounded.write_text("- {topic: Why roads, sources: sources/roads}\n- topic: Why trees\n", encoding="utf-8")
    assert read_eval_topics(grounded) == [("Why roads", tmp_path / "sources" / "roads"), ("Why trees", None)]


@pytest.mark.parametrize("text", ["- {topic: Why roads, source: x}\n", "topic: Why roads\n", "- [a, b]\n", "- {a: [\n"])
def test_a_malformed_yaml_topics_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "grounded.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="grounded.yaml"):
        read_eval_topics(path)
