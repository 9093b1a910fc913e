"""The writer's judgement of a drafted section, and the editor's answers checked against the draft."""

from __future__ import annotations

import pytest

from newsroom.stages.context import Degeneration
from newsroom.stages.models import Answer, EditorReview, Fix, GateRound
from newsroom.stages.quality_gate import names, names_something, numbered, plan_revision, verify
from newsroom.stages.sections import (
    References,
    clean_section,
    cut_sentences,
    drop_pasted_sources,
    drop_repeats,
    fit_length,
    judge,
    tidy,
)

from .conftest import CLEAN_SECTIONS

LIMITS = Degeneration()
PROMPT = ("Write the part headed. It covers:", "Open with a concrete example or fact. Plain prose only.")
EXEMPLAR = ("Support for the new toll on the Eastway bridge has fallen sharply, according to a poll of adults "
            "conducted last week by a research firm for the local paper.")
REFS = References.build(PROMPT, EXEMPLAR and [EXEMPLAR], LIMITS)
GOOD = CLEAN_SECTIONS[0]


def _judge(text: str, **kwargs: object) -> list[str]:
    args: dict[str, object] = {"words_asked": 200, "finish_reason": "stop", "earlier": [], "refs": REFS,
                               "limits": LIMITS, **kwargs}
    return judge(text, **args)  # type: ignore[arg-type]


def test_a_clean_section_has_no_problems() -> None:
    assert _judge(GOOD) == []


@pytest.mark.parametrize(("text", "kwargs", "problem"), [
    (GOOD, {"finish_reason": "length"}, "cut off by the token limit"),
    (GOOD.rsplit(".", 2)[0] + " and the", {}, "ends mid-sentence"),
    (GOOD, {"words_asked": 600}, "too short"),
    (GOOD + " " + GOOD.split(". ")[1] + ".", {}, "repeats 1 of its own sentences"),
    (GOOD, {"earlier": [GOOD]}, "from earlier sections"),
    (GOOD + " Open with a concrete example or fact, they said.", {}, "writes out its instructions"),
    (GOOD + " " + EXEMPLAR, {}, "copies"),
    ("The plan is good and " + "the plan is new and the plan is good and " * 8 + "so it works. " + GOOD, {},
     "loops"),
    (GOOD, {"about": "football", "similarity": lambda a, b: 0.05}, "leaves its subject"),
])
def test_each_kind_of_degeneration_is_named(text: str, kwargs: dict[str, object], problem: str) -> None:
    problems = _judge(text, **kwargs)
    assert any(problem in p for p in problems), problems


def test_clean_section_drops_headings_labels_and_list_markers() -> None:
    raw = ("## Thin margins\n\nFinal Answer: **Thin margins**\n\n1. Carmaker gate fees\n"
           "Car makers now pay to hand over spent packs.\n\n- Prices fell last year.\n\nSecond paragraph.")
    assert clean_section(raw, "Thin margins") == (
        "Car makers now pay to hand over spent packs.\n\nPrices fell last year.\n\nSecond paragraph.")


# -- the editor, checked against the draft -----------------------------------------------------------------
DRAFT = "\n\n".join(CLEAN_SECTIONS)
_, SENTENCES = numbered(DRAFT)
NAMED = next(i for i, (s, _) in enumerate(SENTENCES, start=1) if "Environment Agency" in s)
UNNAMED = next(i for i, (s, _) in enumerate(SENTENCES, start=1) if s.startswith("Training takes time"))


def _review(answer: str, sentence: int, fixes: list[Fix] | None = None) -> EditorReview:
    a = Answer(sentence=sentence, answer=answer)  # type: ignore[arg-type]
    return EditorReview(on_topic=a, makes_argument=a, specific=a, new_points=a, required_fixes=fixes or [])


def test_the_draft_is_shown_with_numbered_sentences_in_its_paragraphs() -> None:
    marked, sentences = numbered("One two three. Four five six.\n\nSeven eight nine.")
    assert marked == "[1] One two three. [2] Four five six.\n\n[3] Seven eight nine."
    assert sentences[2] == ("Seven eight nine.", "Seven eight nine.")


def test_yes_citing_a_supporting_sentence_passes_and_is_quoted() -> None:
    review = verify(_review("yes", NAMED), DRAFT)
    assert review.score == 1.0 and all(c.passed for c in review.checks)
    assert review.checks[0].quote == SENTENCES[NAMED - 1][0]


def test_yes_citing_no_sentence_fails() -> None:
    review = verify(_review("yes", 499), DRAFT)
    assert review.score == 0.0 and all(c.evidence == "it cites no sentence of the draft" for c in review.checks)


def test_no_fails_even_with_a_good_sentence() -> None:
    assert verify(_review("no", NAMED), DRAFT).score == 0.0


def test_specific_needs_a_name_in_the_cited_sentence() -> None:
    checks = {c.name: c for c in verify(_review("yes", UNNAMED), DRAFT).checks}
    assert not checks["specific"].passed and "names no place" in str(checks["specific"].evidence)
    assert checks["on_topic"].passed


def test_names_are_capitalised_words_inside_sentences_or_openers_used_as_names_elsewhere() -> None:
    known = names("Recyclers in Britain are busy. Britain's plants are full.")
    assert known == {"Britain"}
    assert names_something("Britain's plants are full.", known)
    assert not names_something("Demand is not the problem.", known)
    assert names_something("It opened in 2019.", known)


def test_the_semantic_evidence_decides_topic_and_argument() -> None:
    far = verify(_review("yes", NAMED), DRAFT, topic="sourdough", thesis="bake at home", semantic=lambda a, b: 0.1)
    checks = {c.name: c for c in far.checks}
    assert checks["on_topic"].evidence == "the draft is far from the topic"
    assert checks["makes_argument"].evidence == "the draft is far from the argument"
    assert checks["specific"].passed and far.score == 0.5


def test_a_repeated_sentence_is_no_evidence_of_new_points() -> None:
    draft = DRAFT + "\n\n" + SENTENCES[NAMED - 1][0]
    checks = {c.name: c for c in verify(_review("yes", NAMED), draft).checks}
    assert checks["new_points"].evidence == "the sentence itself is repeated in the draft"


def test_fixes_citing_no_sentence_or_changing_nothing_are_dropped() -> None:
    real = Fix(sentence=NAMED, problem="vague", fix="name the agency's report")
    nowhere = Fix(sentence=0, problem="spelling", fix="colour")
    no_change = Fix(sentence=UNNAMED, problem="fine", fix=SENTENCES[UNNAMED - 1][0])
    review = verify(_review("yes", NAMED, [real, nowhere, no_change]), DRAFT)
    assert [f.sentence for f in review.required_fixes] == [NAMED]
    assert review.required_fixes[0].quote == SENTENCES[NAMED - 1][0]
    assert review.dropped_fixes == [nowhere, no_change]


def _round(violations: list[dict[str, object]], review: EditorReview | None = None) -> GateRound:
    return GateRound(revision=0, gate_passed=False, gate_score=0.5, violations=violations,
                     review=verify(review, DRAFT) if review else None, decision="revise")


MARKDOWN = "---\ntitle: x\n---\n\n## One\n\nA.\n\n## Two\n\nB.\n\n## Three\n\nC.\n"


def _violation(rule_id: str, line: int, severity: str = "high") -> dict[str, object]:
    return {"rule_id": rule_id, "line": line, "severity": severity, "message": f"{rule_id} here",
            "suggestion": "fix it"}


def test_revision_redoes_the_section_that_holds_a_blocking_violation() -> None:
    todo, notes = plan_revision(_round([_violation("cliche.x", 11), _violation("hedging.y", 11, "low")]),
                                MARKDOWN, ["A.", "B.", "C."])
    assert todo == [1]
    assert "cliche.x here. fix it" in notes[1] and "hedging.y here" in notes[1]


def test_revision_redoes_every_section_for_an_article_level_fault() -> None:
    todo, notes = plan_revision(_round([_violation("structure.word-count", 5)]), MARKDOWN, ["A.", "B.", "C."],
                                frozenset({"structure.word-count"}))
    assert todo == [0, 1, 2] and all("structure.word-count here" in n for n in notes.values())


def test_revision_follows_the_sentence_the_editor_cited() -> None:
    second = next(i for i, (s, _) in enumerate(SENTENCES, start=1) if s.startswith("The economics"))
    fix = Fix(sentence=second, problem="vague", fix="name the metal")
    todo, notes = plan_revision(_round([], _review("yes", second, [fix])), MARKDOWN, CLEAN_SECTIONS)
    assert todo == [1] and f"'{SENTENCES[second - 1][0]}': vague. name the metal" in notes[1]


# -- the writer's sub-editing and last resort -------------------------------------------------------------
def test_tidy_cuts_a_summary_close_notes_lead_ins_and_bold_labels() -> None:
    raw = ("**Traffic:** Drivers spread across other routes.\n\nThe market reopened on the site.\n\n"
           "The risks include:\n\n**Note:** the figures are estimates.\n\n"
           "In conclusion, removing the road worked.")
    text, cuts = tidy(raw)
    assert text == "Drivers spread across other routes.\n\nThe market reopened on the site."
    assert cuts == ["a lead-in ending in a colon", "a note about the text", "a closing paragraph that only sums up"]


def test_tidy_keeps_a_lone_paragraph_even_if_it_sums_up() -> None:
    assert tidy("Overall, the plan worked.") == ("Overall, the plan worked.", [])


def test_cut_sentences_drops_only_the_faulty_ones() -> None:
    text, removed = cut_sentences("Prices rose. Studies have shown it works. Rents fell.\n\nExperts say so.",
                                  lambda s: "tudies" in s or "xperts" in s)
    assert (text, removed) == ("Prices rose. Rents fell.", 2)


def test_fit_length_drops_paragraphs_from_the_end_but_keeps_one() -> None:
    text = "one two three\n\nfour five six\n\nseven eight nine"
    assert fit_length(text, 6) == ("one two three\n\nfour five six", 1)
    assert fit_length(text, 1) == ("one two three", 2)


def test_a_section_far_too_long_is_a_problem() -> None:
    assert any("too long" in p for p in _judge(GOOD + " " + CLEAN_SECTIONS[1], words_asked=100))


def test_drop_repeats_removes_repeats_within_and_across_sections() -> None:
    first = "Removing the flyover reconnected two neighbourhoods split for forty years."
    text = f"{first} The market reopened. {first}\n\nRents on the street rose after the road came down."
    earlier = ["Rents on the street rose after the road came down, the council said."]
    assert drop_repeats(text, earlier, 0.8) == (f"{first} The market reopened.", 2)


def test_a_pasted_source_note_is_cut_and_the_prose_kept() -> None:
    text = ("Traffic fell by 15% after the flyover came down [1].\n\n"
            "[1] Harrowgate City Council: Eastside corridor review: # Harrowgate City Council: Eastside corridor "
            "review The Eastside flyover, 2.3 km long, was demolished in 2019.\n\n"
            "[2] Said the council, the land was sold.")
    kept, dropped = drop_pasted_sources(text, ["Harrowgate City Council: Eastside corridor review", "Land sale"])
    assert (kept, dropped) == ("Traffic fell by 15% after the flyover came down [1].\n\n"
                               "[2] Said the council, the land was sold.", 1)
    assert drop_pasted_sources(text, []) == (text, 0)
    rewritten = "[Land sale]: The council sold 6.1 hectares for £71 million [2].\n\nThe market reopened."
    assert drop_pasted_sources(rewritten, ["Land sale"]) == ("The market reopened.", 1)
    # As the default model pasted it in the grounded eval: the number and title, no colon, the note.
    bare = ("[2] Harrowgate City Council: Eastside corridor review The Eastside flyover, 2.3 km long, was "
            "demolished in 2019.\n\n[2] Land sales rose.\n\nThe market reopened.")
    assert drop_pasted_sources(bare, ["Harrowgate City Council: Eastside corridor review", "Land sale"]) == (
        "[2] Land sales rose.\n\nThe market reopened.", 1)  # "Land sales" is not the title "Land sale"
