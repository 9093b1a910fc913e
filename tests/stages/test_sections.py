"""The writer's judgement of a drafted section, and the editor's answers checked against the draft."""

from __future__ import annotations

import pytest

from newsroom.stages.context import Degeneration
from newsroom.stages.models import Answer, EditorReview, Fix, GateRound
from newsroom.stages.quality_gate import plan_revision, quoted_in, verify
from newsroom.stages.sections import References, clean_section, judge

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
IN_DRAFT = CLEAN_SECTIONS[1].split(". ")[0] + "."


def _review(answer: str, quote: str, fixes: list[Fix] | None = None) -> EditorReview:
    a = Answer(quote=quote, answer=answer)  # type: ignore[arg-type]
    return EditorReview(on_topic=a, makes_argument=a, specific=a, new_points=a, required_fixes=fixes or [])


def test_yes_with_a_quote_from_the_draft_passes() -> None:
    review = verify(_review("yes", IN_DRAFT), DRAFT)
    assert review.score == 1.0 and all(c.quote_found and c.passed for c in review.checks)


def test_yes_with_an_invented_quote_fails() -> None:
    review = verify(_review("yes", "The new light of tomorrow shines on every city in the world."), DRAFT)
    assert review.score == 0.0 and not any(c.quote_found for c in review.checks)


def test_no_fails_even_with_a_real_quote() -> None:
    assert verify(_review("no", IN_DRAFT), DRAFT).score == 0.0


def test_a_nearly_exact_quote_counts_and_a_short_one_does_not() -> None:
    nearly = IN_DRAFT.replace("The economics", "Economics")
    assert quoted_in(nearly, DRAFT)
    assert not quoted_in("metal prices", DRAFT)


def test_fixes_that_quote_words_not_in_the_draft_are_dropped() -> None:
    real = Fix(quote=IN_DRAFT, problem="vague", fix="name the metal")
    invented = Fix(quote="Colour is spelt color in the draft.", problem="spelling", fix="colour")
    review = verify(_review("yes", IN_DRAFT, [real, invented]), DRAFT)
    assert review.required_fixes == [real] and review.dropped_fixes == [invented]


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


def test_revision_follows_the_editors_quote() -> None:
    fix = Fix(quote=IN_DRAFT, problem="vague", fix="name the metal")
    todo, notes = plan_revision(_round([], _review("yes", IN_DRAFT, [fix])), MARKDOWN, CLEAN_SECTIONS)
    assert todo == [1] and f"'{IN_DRAFT}': vague. name the metal" in notes[1]
