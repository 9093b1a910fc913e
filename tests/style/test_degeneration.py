"""The gate refuses degenerate text: each form a small model produces, planted into a clean article,
fails ``check`` with a critical or high violation, while the clean article passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsroom.cli import cli
from newsroom.style.checker import check_text
from newsroom.style.hits import CheckContext
from newsroom.style.pack import default_pack

ARTICLE = (Path(__file__).parent / "fixtures" / "article_ok.md").read_text(encoding="utf-8")
ANCHOR = "## How the debt piled up\n"
LOOP_LINE = "The light of tomorrow: a new light on tomorrow"
EXEMPLAR = default_pack().exemplars[0].text
FIRST_PARAGRAPH = ARTICLE.split("\n\n")[3]


def _insert(block: str) -> str:
    return ARTICLE.replace(ANCHOR, block.strip() + "\n\n" + ANCHOR, 1)


PLANTED = {
    "a line looping 15 times": (_insert("\n".join([LOOP_LINE] * 15)), "structure.repetition"),
    "the writer's instruction": (_insert(
        'Write the part headed "How the debt piled up". It covers: refinancing; dividends. Write 3 paragraphs, '
        "about 260 words in all. Open with a concrete example or fact. Plain prose only."), "meta.prompt-echo"),
    "a pasted exemplar passage": (_insert(EXEMPLAR), "meta.exemplar-copy"),
    "a paragraph repeated three times": (_insert("\n\n".join([FIRST_PARAGRAPH] * 3)), "structure.repetition"),
    "a field name as the title": (ARTICLE.replace("title: Northshire's water company runs out of road",
                                                  "title: \"Thesis: the water company runs out of road\"")
                                  .replace("# Northshire's water company runs out of road",
                                           "# Thesis: the water company runs out of road"), "placeholder.title"),
    "a near-duplicate sentence": (_insert(
        "The warning is the clearest sign so far that the financial model behind the privatised water industry "
        "is under strain."), "structure.near-duplicate"),
    "a section that ends mid-sentence": (ARTICLE.replace(ANCHOR, "Its owners said they would consider the\n\n"
                                                         + ANCHOR, 1), "structure.unfinished"),
    "a chatbot's preamble": (_insert("Here is the section you asked for. The debt grew fast."),
                             "meta.instruction-echo"),
}


def _failing(result: object) -> list[str]:
    return [v.rule_id for v in result.violations if v.severity in ("critical", "high")]  # type: ignore[attr-defined]


def test_the_clean_article_passes() -> None:
    result = check_text(ARTICLE)
    assert result.passed and result.violations == []


@pytest.mark.parametrize("form", sorted(PLANTED))
def test_each_degenerate_form_fails_the_gate(form: str) -> None:
    text, rule_id = PLANTED[form]
    result = check_text(text)
    assert not result.passed
    assert rule_id in _failing(result), [(v.rule_id, v.message) for v in result.violations]


def test_the_cli_fails_each_planted_file(tmp_path: Path) -> None:
    files = []
    for i, form in enumerate(sorted(PLANTED)):
        path = tmp_path / f"planted-{i}.md"
        path.write_text(PLANTED[form][0], encoding="utf-8")
        files.append(str(path))
    result = CliRunner().invoke(cli, ["check", *files, "--json"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    assert [entry["passed"] for entry in report] == [False] * len(PLANTED)


def test_a_loop_is_reported_as_capped_findings_that_say_how_many() -> None:
    result = check_text(_insert("\n".join([LOOP_LINE] * 15)))
    loops = [v for v in result.violations if v.rule_id == "structure.repetition"]
    # 14 repeats: four reported one by one, the fifth says how many more there are.
    assert len(loops) == 5 and "(and 9 more repeated sentences)" in loops[-1].message


def test_repeated_sentences_do_not_count_towards_the_length() -> None:
    # Twenty pasted copies of a 60-word paragraph would take the 821-word article past 1,200 words.
    padded = ARTICLE.replace(ANCHOR, "\n\n".join([FIRST_PARAGRAPH] * 20) + "\n\n" + ANCHOR, 1)
    result = check_text(padded)
    assert "structure.repetition" in _failing(result)
    assert "structure.word-count" not in [v.rule_id for v in result.violations]


def test_prompts_given_in_the_context_replace_the_shipped_ones() -> None:
    text = _insert("Summarise the quarterly figures in a friendly tone for the board members today.")
    shipped = check_text(text)
    assert "meta.prompt-echo" not in _failing(shipped)
    mine = check_text(text, context=CheckContext(prompts=("Summarise the quarterly figures in a friendly tone",)))
    assert "meta.prompt-echo" in _failing(mine)


@pytest.mark.slow
def test_an_article_far_from_its_topic_fails_with_the_embedder() -> None:
    from newsroom.style.embedder import text_similarity

    context = CheckContext(topic="How to bake sourdough bread at home", similarity=text_similarity)
    assert "structure.off-topic" in _failing(check_text(ARTICLE, context=context))
    on_topic = CheckContext(topic="A water company's debts and its owners", similarity=text_similarity)
    assert "structure.off-topic" not in _failing(check_text(ARTICLE, context=on_topic))
