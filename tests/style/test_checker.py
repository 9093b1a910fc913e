"""The deterministic checker: planted violations in every category, clean prose with none, the
Markdown it must not judge, line numbers, scoring, full-article structure and bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsroom.errors import ConfigError
from newsroom.style.checker import (
    MAX_BYTES,
    SEVERITY_WEIGHTS,
    CheckResult,
    Violation,
    check_file,
    check_text,
    respell,
    score,
)
from newsroom.style.hits import CheckContext
from newsroom.style.pack import default_pack

FIXTURES = Path(__file__).parent / "fixtures"
CLEAN = yaml.safe_load((FIXTURES / "clean_prose.yaml").read_text(encoding="utf-8"))
PLANTED: dict[str, list[str]] = yaml.safe_load((FIXTURES / "planted.yaml").read_text(encoding="utf-8"))
ARTICLE = (FIXTURES / "article_ok.md").read_text(encoding="utf-8")
SEMANTIC_CHECKS = ("topic_drift",)  # rules that need the MiniLM embedder (loaded once, so marked slow)
GROUNDING_CHECKS = ("ungrounded_figure", "citation_unsupported", "citation_missing")
# The one source the grounding rules' examples are checked against.
SOURCE = ("Agency return", "Shipments of spent cells rose 38% in 2025, the Environment Agency said. "
          "About 4,000 technicians qualified.")
EXAMPLES = [pytest.param(r, i, ex, id=f"{r.id}#{i}",
                         marks=[pytest.mark.slow] if r.check in SEMANTIC_CHECKS else [])
            for r in default_pack().rules for i, ex in enumerate(r.examples)]


def ids(text: str, *, fragment: bool = True) -> list[str]:
    return [v.rule_id for v in check_text(text, fragment=fragment).violations]


def categories(text: str, *, fragment: bool = True) -> set[str]:
    return {v.category for v in check_text(text, fragment=fragment).violations}


# -- every rule catches its own examples -------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "index", "example"), EXAMPLES)
def test_every_example_is_flagged_by_its_own_rule(rule: Any, index: int, example: str) -> None:
    if rule.check in SEMANTIC_CHECKS:
        from newsroom.style.embedder import text_similarity

        result = check_text(example, fragment=rule.fragment, context=CheckContext(similarity=text_similarity))
        assert rule.id in [v.rule_id for v in result.violations]
    elif rule.check in GROUNDING_CHECKS:
        result = check_text(example, fragment=rule.fragment, context=CheckContext(sources=(SOURCE,)))
        assert rule.id in [v.rule_id for v in result.violations]
    else:
        assert rule.id in ids(example, fragment=rule.fragment)


# -- planted violations, one test per category -------------------------------------------------------------
@pytest.mark.parametrize("category", sorted(PLANTED))
def test_planted_violations_are_found_in_each_category(category: str) -> None:
    texts = PLANTED[category]
    missed = [t for t in texts if category not in categories(t)]
    assert len(texts) >= 20
    assert 1 - len(missed) / len(texts) >= 0.95, missed


@pytest.mark.parametrize("text", PLANTED["meta"][:5])
def test_what_the_default_model_wrote_about_itself_is_meta(text: str) -> None:
    # The first five planted meta texts are the grounded eval's own (2026-11-29): each must be caught,
    # not only 95% of the category.
    assert "meta" in categories(text)


def test_planted_corpus_covers_every_text_category() -> None:
    assert set(PLANTED) == {"opening", "cliche", "hedging", "closing", "attribution", "spelling",
                            "punctuation", "placeholder", "meta"}


# -- clean prose: zero violations --------------------------------------------------------------------------
def test_clean_corpus_is_large() -> None:
    assert len(CLEAN) >= 30


@pytest.mark.parametrize("text", CLEAN, ids=[f"clean{i}" for i in range(len(CLEAN))])
def test_clean_news_prose_has_no_violations(text: str) -> None:
    result = check_text(text, fragment=True)
    assert result.violations == [], [(v.rule_id, v.excerpt) for v in result.violations]
    assert result.passed and result.score == 1.0


# -- spelling -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "The World Health Organization met in Geneva.",
    "Pearl Harbor was attacked in 1941.",
    "She performed at the Lincoln Center.",
    "The Department of Defense issued a statement.",
    "Shops close early on Labor Day.",
    "Labor Day falls on a Monday.",
    "Centers for Disease Control and Prevention data show a fall in cases.",
    "The Labor Party won the election.",
    "Labor won 77 seats in the House of Representatives, the electoral commission said.",
    "The council bought new parking meters.",
    "The malware was a computer program written in Python.",
    "Click OK in the dialog box to continue.",
    "The firm will license its design to rivals.",
    "Prices were cut to size, and the prize was seized when the boat capsized.",
    "The code sets `color: gray` on every page.",
    "See https://example.com/color/center for the palette.",
    "“The color of money is gray,” he said.",
    "The museum's Color Field collection opened in May.",
])
def test_spelling_exceptions_do_not_fire(text: str) -> None:
    assert not [i for i in ids(text) if i.startswith("spelling.")]


@pytest.mark.parametrize(("text", "replacement"), [
    ("Ministers want to organize a summit.", "organise"),
    ("The summit was organized in May.", "organised"),
    ("Organizing it took a year.", "Organising"),
    ("The organization has 40 members.", "organisation"),
    ("The tower is 300 meters tall.", None),
    ("Color matters in design.", "Colour"),
    ("The data center opened in March.", "centre"),
    ("They traveled by train.", "travelled"),
    ("The flights were canceled.", "cancelled"),
    ("The country's defense budget rose.", "defence"),
    ("A gray area remains.", "grey"),
    ("The regulator revoked its license.", None),
    ("The government's new program helps farmers.", "programme"),
])
def test_american_spellings_are_flagged_with_the_british_form(text: str, replacement: str | None) -> None:
    found = [v for v in check_text(text, fragment=True).violations if v.category == "spelling"]
    assert found, text
    if replacement:
        assert f"'{replacement}'" in found[0].message and replacement in found[0].suggestion


# -- cliché: leverage as a verb, not as a noun --------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "The bank's leverage ratio rose to 5%, according to its annual report.",
    "Private-equity firms used a leveraged buy-out.",
    "Highly leveraged companies suffer when rates rise.",
    "Banks have cut leverage since 2008, the Basel Committee said.",
    "The union has little leverage over the employer.",
    "Leverage at hedge funds reached a record, the BIS said.",
])
def test_leverage_as_a_noun_is_fine(text: str) -> None:
    assert "cliche.leverage-verb" not in ids(text)


@pytest.mark.parametrize("text", [
    "The firm is leveraging its brand.",
    "They leveraged their contacts to win the contract.",
    "Retailers want to leverage AI.",
    "The company leverages data from its app.",
])
def test_leverage_as_a_verb_is_flagged(text: str) -> None:
    assert "cliche.leverage-verb" in ids(text)


# -- scopes: openings in the first paragraph, closings in the last ---------------------------------------
def test_weak_closing_only_in_last_paragraph() -> None:
    middle = "Prices rose in May, the ONS said.\n\nIn conclusion, only time will tell.\n\nThe vote is in June."
    assert "closing" not in categories(middle)
    last = "Prices rose in May, the ONS said.\n\nThe vote is in June.\n\nIn conclusion, only time will tell."
    assert ids(last).count("closing.weak-ending") == 2


def test_last_paragraph_ignores_the_references_section() -> None:
    text = "Prices rose, the ONS said.\n\nOnly time will tell.\n\n## Sources\n\n- ONS, May 2024"
    assert "closing.weak-ending" in ids(text)


def test_throat_clearing_is_checked_on_the_first_paragraph() -> None:
    assert "opening.throat-clearing" in ids("When it comes to rates, the bank is cautious.\n\nIt met today.")
    assert "opening.throat-clearing" not in ids("The bank met today.\n\nWhen it comes to rates, it is cautious.")


def test_first_paragraph_skips_title_and_headings() -> None:
    text = "# The bank and rates\n\n## Background\n\nHave you ever wondered why rates rise?"
    assert "opening.throat-clearing" in ids(text)


# -- what the checker must not judge --------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    'The minister said: "This is a game-changer! Going forward we leverage synergies."',
    "“At the end of the day, it is very simple!” she said.",
    "He called it ‘a real game-changer’ and left.",
    "Officials called the plan 'cutting-edge' in a statement.",
    "> Experts say this is a game-changer!\n> TODO: nothing here counts.",
    "Run `grep -i synergy | sort` to find them.",
    "```\nTODO: fix the color!\nIn order to run this, very carefully...\n```",
    "Some text before.\n\n    indented code with TODO and color!\n\nSome text after.",
    "<!-- TODO: add the very best quote here! -->The ministry published its plan on Monday.",
    "The full text is at https://example.org/leverage-synergies!/TODO?color=gray.",
    "Read [the report](https://example.com/game-changer/TODO) from the IMF.",
    "Write to press@example.com for the figures.",
])
def test_quotes_code_urls_and_comments_are_not_judged(text: str) -> None:
    assert ids(text) == []


def test_link_text_is_still_checked() -> None:
    assert "cliche.jargon" in ids("Read [this game-changer report](https://example.com/a) now.")


def test_references_section_is_skipped_until_the_next_heading_of_the_same_level() -> None:
    for name in ("References", "Sources", "Notes", "Bibliography"):
        text = (f"The bank raised rates, its governor said.\n\n## {name}\n\nExperts say TODO [citation needed]!\n\n"
                "### Sub-section still skipped\n\nVery cutting-edge.\n\n## Next section\n\nA game-changer.")
        found = ids(text)
        assert found == ["cliche.jargon"], (name, found)


def test_bold_sources_line_is_a_references_heading() -> None:
    text = "The bank raised rates, its governor said.\n\n**Sources:**\n\n- Experts say, TODO"
    assert ids(text) == []


def test_text_is_never_edited(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("The color is gray!\n", encoding="utf-8")
    check_file(path, fragment=True)
    assert path.read_text(encoding="utf-8") == "The color is gray!\n"


# -- line numbers, excerpts, messages ----------------------------------------------------------------------
def test_line_numbers_are_those_of_the_original_text() -> None:
    text = ("---\ntitle: x\n---\n\n# Title\n\nThe bank met.\n\n```\ncolor!\n```\n\n"
            "It was a game-changer,\nand the color was\ngray!\n\nThe end came on Monday.\n")
    found = {(v.rule_id, v.line) for v in check_text(text, fragment=True).violations}
    assert found == {("cliche.jargon", 13), ("spelling.american", 14), ("spelling.american", 15),
                     ("punctuation.exclamation", 15)}


def test_crlf_and_bom_keep_line_numbers() -> None:
    text = "\ufeffThe bank met.\r\n\r\nIt was a game-changer.\r\n"
    assert [(v.rule_id, v.line) for v in check_text(text, fragment=True).violations] == [("cliche.jargon", 3)]


def test_violation_has_excerpt_message_suggestion_and_column() -> None:
    (v,) = check_text("Output rose. Going forward, the firm will hire.", fragment=True).violations
    assert v.rule_id == "cliche.jargon" and v.category == "cliche" and v.severity == "medium"
    assert v.line == 1 and v.column == 14
    assert "Going forward" in v.excerpt and "'Going forward'" in v.message and v.suggestion


# -- unsourced statistics -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "Unemployment fell to 4.1% in March, according to the Bureau of Labor Statistics.",
    "The ONS said inflation was 3.2%.",
    "Inflation was 3.2% in April. That was the lowest since 2021, the statistics office said.",
    "According to Eurostat, unemployment in Spain fell. It now stands at 11.7%, and youth unemployment at 27%.",
    "Sales at Tesco rose by 4% in the year to February, the company said.",
    "The project will cost £4bn, its business plan shows.",
    "Some 41% of Britons back the plan, according to a YouGov poll.",
    "The firm employs 12,000 people, according to its annual report.",
    "The painting sold for $91m at Christie's.",
    "The election was held in 2019 and the turnout was low.",
    "Three people were injured.",
    "The bill costs £45 a year.",
    "President Trump imposed a 25% tariff on imported steel in 2018.",
    "The fund bought a 20% stake in the airport.",
    "The club's new 60,000-seat stadium opens in August.",
    "The pipeline runs for 12,000km across Siberia.",
])
def test_sourced_or_small_numbers_are_fine(text: str) -> None:
    assert "attribution.unsourced-statistic" not in ids(text)


@pytest.mark.parametrize("text", [
    "Sales of electric cars rose by 45% last year.",
    "Unemployment has fallen to 3.5 per cent.",
    "The market is expected to be worth $8bn by 2030.",
    "Over 2 million people use the app every day.",
    "Some 250,000 jobs were lost.",
    "Some 45% of small firms say they cannot find staff.",
    "The Bank of England raised rates on Thursday.\n\nHouse prices have risen by 12% in the past year.",
])
def test_unsourced_statistics_are_flagged(text: str) -> None:
    assert "attribution.unsourced-statistic" in ids(text)


# -- full articles and structure ---------------------------------------------------------------------------
def test_the_full_article_passes_the_full_check() -> None:
    result = check_text(ARTICLE, filename="article_ok.md")
    assert result.violations == [], [(v.rule_id, v.line, v.message) for v in result.violations]
    assert result.passed and result.score == 1.0 and result.file == "article_ok.md"


def _body_words(n: int) -> str:
    """About ``n`` words of distinct clean prose (a repeated sentence would not count towards length)."""
    out: list[str] = []
    for text in CLEAN:
        if sum(len(t.split()) for t in out) >= n:
            break
        out.append(" ".join(text.split()))
    return "\n\n".join(out)


def _broken(kind: str) -> str:
    head, _, body = ARTICLE.partition("\n---\n")
    if kind == "no front matter":
        return body
    if kind == "long description":
        return head.replace("description: A regional", "description: " + "A very long description " * 8 +
                            "A regional") + "\n---\n" + body
    if kind == "bullet list":
        return ARTICLE.replace("## What the owners want\n", "## What the owners want\n\n- more money\n- higher bills\n")
    if kind == "one heading":
        return ARTICLE.replace("## What the owners want\n", "").replace("## The government's options\n", "")
    if kind == "1,500 words":
        return ARTICLE.replace("## Sources", _body_words(760) + "\n\n## Sources")
    if kind == "title with !":
        return ARTICLE.replace("title: Northshire's water company runs out of road",
                               "title: Northshire's water company runs out of road!")
    if kind == "bad date":
        return ARTICLE.replace("date: 2024-05-14", "date: 14/05/2024")
    if kind == "no title":
        return ARTICLE.replace("title: Northshire's water company runs out of road\n", "").replace(
            "# Northshire's water company runs out of road\n", "")
    raise AssertionError(kind)


@pytest.mark.parametrize(("kind", "rule_id"), [
    ("no front matter", "front_matter.missing"),
    ("long description", "front_matter.description"),
    ("bullet list", "structure.no-lists"),
    ("one heading", "structure.headings"),
    ("1,500 words", "structure.word-count"),
    ("title with !", "structure.title-exclamation"),
    ("bad date", "front_matter.date"),
    ("no title", "structure.title-missing"),
])
def test_broken_articles_fail_the_right_rule(kind: str, rule_id: str) -> None:
    result = check_text(_broken(kind))
    assert rule_id in [v.rule_id for v in result.violations]
    assert not result.passed
    assert check_text(_broken(kind), fragment=True).violations == [], "structure rules are not fragment rules"


def test_long_article_is_reported_with_its_word_count() -> None:
    (v,) = [v for v in check_text(_broken("1,500 words")).violations if v.rule_id == "structure.word-count"]
    words = int(v.message.split(": ")[1].split(" words")[0].replace(",", ""))
    assert "too long" in v.message and 1500 <= words <= 1600


def test_front_matter_fields_are_each_reported() -> None:
    text = "---\ntitle: A title\n---\n" + ARTICLE.partition("\n---\n")[2]
    messages = [v.message for v in check_text(text).violations if v.rule_id == "front_matter.fields"]
    assert any("'layout'" in m for m in messages) and any("'date'" in m for m in messages)
    assert any("'categories', 'tags'" in m for m in messages) and any("'description'" in m for m in messages)


def test_word_count_ignores_front_matter_code_and_references() -> None:
    padding = "\n\n```\n" + "word " * 2000 + "\n```\n\n<!-- " + "word " * 2000 + "-->\n"
    assert "structure.word-count" not in ids(ARTICLE.replace("## The government's options", padding +
                                                             "## The government's options"), fragment=False)


# -- results, score and JSON shape --------------------------------------------------------------------------
def test_score_weights_and_pass_rule() -> None:
    assert SEVERITY_WEIGHTS == {"critical": 0.25, "high": 0.10, "medium": 0.04, "low": 0.01}
    v = Violation("x", "cliche", "medium", 1, "e", "m", "s")
    assert score([v, v]) == 0.92 and score([Violation("x", "meta", "critical", 1, "", "", "")] * 5) == 0.0
    low = check_text("The results were very good, the firm said.", fragment=True)
    assert low.passed and low.score == 0.99
    high = check_text("Experts say rates will rise.", fragment=True)
    assert not high.passed and high.score == 0.9


def test_as_dict_is_the_contract_shape() -> None:
    result = check_text("TODO: write this.", fragment=True, filename="draft.md")
    entry = result.as_dict()
    assert set(entry) == {"file", "passed", "score", "violations"}
    assert entry["file"] == "draft.md" and entry["passed"] is False and isinstance(entry["score"], float)
    assert set(entry["violations"][0]) == {"rule_id", "category", "severity", "line", "excerpt", "message",
                                           "suggestion"}
    assert isinstance(result, CheckResult)


def test_checking_is_deterministic() -> None:
    text = "\n\n".join(PLANTED["cliche"][:5])
    assert check_text(text).as_dict() == check_text(text).as_dict()


def test_check_text_is_exported_from_the_package() -> None:
    import newsroom

    assert newsroom.check_text is check_text


def test_the_checker_imports_nothing_heavy() -> None:
    code = ("import sys, newsroom.style.checker as c; c.check_text('The color is gray!', fragment=True); "
            "print([m for m in ('torch', 'chromadb', 'crewai', 'sentence_transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- bad files ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    ("dir", "is a directory"),
    (b"", "is empty"),
    (b"  \n\n ", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("caf\xe9 au lait\n".encode("latin-1"), "not UTF-8"),
    (b"a" * (5 * 1024 * 1024), "MB"),
])
def test_bad_files_raise_one_clear_line(tmp_path: Path, content: bytes | str | None, expected: str) -> None:
    path = tmp_path / "article.md"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        check_file(path)
    message = str(err.value)
    assert expected in message and "article.md" in message and "\n" not in message, message


def test_oversized_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="at most"):
        check_text("a" * (MAX_BYTES + 1))


def test_check_file_reads_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes("\ufeffThe colour was grey.\n".encode())
    assert check_file(path, fragment=True).violations == []


@pytest.mark.parametrize("unit", ['"word ', "a", "“word ", "'word ", "![a](", "[word ", "Very ", "1234567890",
                                  "The ONS said 5%. ", "- a\n", "<a word ", "`word ", "{{a"])
def test_pathological_inputs_finish(unit: str) -> None:
    """Inputs that once made a pattern quadratic (no timing assertion: a regression would hang)."""
    text = (unit * (20_000 // len(unit)))[:20_000]
    for fragment in (True, False):
        result = check_text(text, fragment=fragment)
        assert all(1 <= v.line <= text.count("\n") + 1 for v in result.violations)


# -- the writer's sub-edit: the flagged spellings, respelt ---------------------------------------------------
SUBSTITUTIONS = {r.id for r in default_pack().rules if r.kind == "substitution"}


def test_respell_fixes_everything_the_substitution_rules_flag_in_the_planted_spelling() -> None:
    flagged = [t for t in PLANTED["spelling"] if SUBSTITUTIONS & set(ids(t))]
    assert len(flagged) >= 15
    left = {t: ids(respell(t)[0]) for t in flagged}
    assert {t: found for t, found in left.items() if SUBSTITUTIONS & set(found)} == {}


def test_respell_keeps_case_names_exceptions_and_quotations() -> None:
    text = ("Colors faded. The World Health Organization praised the program. A computer program crashed. "
            "\"The color was fine,\" she said. Two programs for nurses began.")
    fixed, changes = respell(text)
    assert fixed == ("Colours faded. The World Health Organization praised the programme. A computer program "
                     "crashed. \"The color was fine,\" she said. Two programmes for nurses began.")
    assert changes == ["Colors -> Colours", "program -> programme", "programs -> programmes"]
    assert respell(fixed) == (fixed, [])
