"""Typed inputs and outputs of the stages. Bounded string lengths keep a small model's
constrained decoding from running on forever inside one field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Every string a model writes is bounded, so constrained decoding always closes the JSON in time.
Point = Annotated[str, Field(max_length=120)]
Fact = Annotated[str, Field(max_length=160)]


class CandidateDraft(BaseModel):
    """One angle as the scout proposes it (the LLM's structured output)."""

    hook: str = Field(max_length=120, description="the news peg: why now")
    thesis: str = Field(max_length=240, description="the argument the article makes")
    timeliness: int = Field(ge=1, le=5)
    evidence: int = Field(ge=1, le=5, description="how much evidence is available")
    contrarian: int = Field(ge=1, le=5, description="contrarian potential")
    audience_fit: int = Field(ge=1, le=5)
    style_fit: int = Field(ge=1, le=5)


class Candidate(CandidateDraft):
    """A scored, de-duplicated candidate."""

    number: int
    score: float = Field(description="weighted mean of the five 1-5 scores")
    similar_to: str | None = Field(default=None, description="a published article it is close to")
    similarity: float | None = None
    flagged: bool = False


class Vote(BaseModel):
    """One board member's ballot: candidate numbers, best first."""

    ranking: list[int] = Field(min_length=1, max_length=8)
    rationale: str = Field(max_length=200)


class Ballot(BaseModel):
    persona: str
    weight: float
    ranking: list[int]
    rationale: str


class Decision(BaseModel):
    winner: int
    rationale: str
    dissent: list[str] = Field(default_factory=list)
    consensus: float = Field(ge=0, le=1, description="share of board weight whose first choice won")
    tally: dict[int, float] = Field(default_factory=dict)
    ballots: list[Ballot] = Field(default_factory=list)


class SectionPlan(BaseModel):
    heading: str = Field(max_length=70)
    points: list[Point] = Field(min_length=1, max_length=3)


class BriefDraft(BaseModel):
    """The brief as the editor writes it (the LLM's structured output). The thesis is the chosen
    angle's own: asked to restate it, a small model copied the field's description instead."""

    title_ideas: list[Annotated[str, Field(max_length=90)]] = Field(min_length=1, max_length=3)
    sections: list[SectionPlan] = Field(min_length=2, max_length=5)
    key_facts: list[Fact] = Field(default_factory=list, max_length=4)


class Brief(BriefDraft):
    thesis: str
    title: str
    description: str
    sources: list[str] = Field(default_factory=list, description="ids of the user's sources to use")


# The editor cites a sentence of the draft by its number; code quotes it. Asked to copy a sentence,
# a 1.5B model wrote statements about the draft instead ("The draft is about ...") in 1 of 5 clean
# drafts, which made the review worthless (bench/editor.py on tests/fixtures/editor).
Sentence = Annotated[int, Field(ge=0, le=500, description="the number of a sentence of the draft (0: none)")]


class Fix(BaseModel):
    sentence: Sentence
    problem: str = Field(max_length=120)
    fix: str = Field(max_length=160)


class Answer(BaseModel):
    """One yes/no check, evidence first: the cited sentence is what the answer rests on."""

    sentence: Sentence
    answer: Literal["yes", "no"]


class EditorReview(BaseModel):
    """The editor's structured review (the LLM's output); code derives the verdict from it."""

    on_topic: Answer
    makes_argument: Answer
    specific: Answer
    new_points: Answer
    required_fixes: list[Fix] = Field(default_factory=list, max_length=3)


CHECKS = ("on_topic", "makes_argument", "specific", "new_points")


class CheckResult(BaseModel):
    """A check as the gate counts it: passed only with a "yes" whose cited sentence supports it."""

    name: str
    answer: str
    sentence: int
    quote: str = Field(description="the cited sentence, quoted from the draft ('' when there is none)")
    evidence: str | None = Field(default=None, description="why the sentence does not support a yes")
    passed: bool


class QuotedFix(BaseModel):
    """An editor's fix with the sentence it cites quoted from the draft."""

    sentence: int
    quote: str
    problem: str
    fix: str


class Review(BaseModel):
    """The editor's review after code checked it against the draft."""

    checks: list[CheckResult]
    required_fixes: list[QuotedFix] = Field(default_factory=list, description="fixes citing a sentence of the draft")
    dropped_fixes: list[Fix] = Field(default_factory=list, description="fixes citing no sentence, or changing nothing")
    score: float = Field(ge=0, le=1, description="share of checks passed")


class Source(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    path: str
    text: str


class GateRound(BaseModel):
    """One pass through the quality gate."""

    revision: int
    gate_passed: bool
    gate_score: float
    violations: list[dict[str, Any]]
    review: Review | None = None
    review_skipped: str | None = None
    editor_score: float | None = None
    style_context: list[dict[str, Any]] = Field(default_factory=list)
    decision: Literal["publish", "revise", "reject", "stop"]
    reasons: list[str] = Field(default_factory=list)


OUTPUT_MODELS: dict[str, type[BaseModel]] = {
    "CandidateDraft": CandidateDraft, "Vote": Vote, "BriefDraft": BriefDraft, "EditorReview": EditorReview,
}
