"""The pure parts of the stages: scoring, voting, briefs, section clean-up, gate decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.outputs import output_paths, slugify
from newsroom.stages.discover import rank_candidates, weighted_score
from newsroom.stages.editorial import clean_title, clip, drop_ungrounded_figures, heading_from, tally, to_brief
from newsroom.stages.generate import assemble, clean_section
from newsroom.stages.models import Ballot, BriefDraft, Candidate, CandidateDraft, SectionPlan, Source
from newsroom.stages.quality_gate import decide, sections

W = dict.fromkeys(("timeliness", "evidence", "contrarian", "audience_fit", "style_fit"), 1.0)


def _draft(hook: str, score: int) -> CandidateDraft:
    return CandidateDraft(hook=hook, thesis=f"{hook} matters", timeliness=score, evidence=score, contrarian=score,
                          audience_fit=score, style_fit=score)


def _cand(number: int, score: float) -> Candidate:
    return Candidate(**_draft(f"c{number}", 3).model_dump(), number=number, score=score)


def test_weighted_score_uses_the_weights() -> None:
    d = CandidateDraft(hook="h", thesis="t", timeliness=5, evidence=1, contrarian=1, audience_fit=1, style_fit=1)
    assert weighted_score(d, W) == 1.8
    assert weighted_score(d, {**W, "timeliness": 3.0}) == round((15 + 4) / 7, 3)


def test_rank_drops_and_flags_published_lookalikes() -> None:
    near = {"same": ("Old piece", 0.95), "close": ("Older piece", 0.85)}
    kept, dropped = rank_candidates([_draft("same", 5), _draft("close", 4), _draft("new", 3)], W,
                                    lambda text: near.get(text.split()[0]), drop_at=0.92, flag_at=0.8)
    assert [c.hook for c in kept] == ["close", "new"] and [c.number for c in kept] == [1, 2]
    assert kept[0].flagged and kept[0].similar_to == "Older piece" and not kept[1].flagged
    assert [c.hook for c in dropped] == ["same"]


def test_tally_is_a_weighted_borda_count_with_dissent_and_consensus() -> None:
    candidates = [_cand(1, 3.0), _cand(2, 3.5), _cand(3, 2.0)]
    ballots = [Ballot(persona="chief", weight=2.0, ranking=[2, 1, 3], rationale="timely"),
               Ballot(persona="data", weight=1.0, ranking=[1, 2, 3], rationale="evidence"),
               Ballot(persona="section", weight=1.0, ranking=[1, 3, 2], rationale="fresh")]
    decision = tally(ballots, candidates)
    # 1: 2*2 + 3 + 3 = 10; 2: 2*3 + 2 + 1 = 9; 3: 2*1 + 1 + 2 = 5
    assert decision.tally == {1: 10.0, 2: 9.0, 3: 5.0}
    assert decision.winner == 1 and decision.consensus == 0.5
    assert decision.dissent == ["chief preferred #2: timely"]


def test_tally_ignores_invalid_and_repeated_numbers() -> None:
    decision = tally([Ballot(persona="p", weight=1.0, ranking=[9, 2, 2, 1], rationale="r")],
                     [_cand(1, 3.0), _cand(2, 3.0)])
    assert decision.winner == 2 and decision.tally == {1: 1.0, 2: 2.0}


@pytest.mark.parametrize(("raw", "expected"), [
    ("Britain's recyclers cannot keep up.", "Britain's recyclers cannot keep up"),
    ('"Batteries, again!"', "Batteries, again"),
    ("SHOUTING TITLE", "Fallback"),
    ("", "Fallback"),
])
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw, "Fallback") == expected


def test_clip_respects_the_limit_at_a_word_boundary() -> None:
    text = "word " * 60
    clipped = clip(text, 160)
    assert len(clipped) <= 160 and clipped.endswith("…") and " wor…" not in clipped


def test_brief_caps_sections_and_description() -> None:
    draft = BriefDraft(title_ideas=["A title."],
                       sections=[SectionPlan(heading=f"S{i}", points=["p"]) for i in range(5)], key_facts=[])
    brief = to_brief(draft, "word " * 40, "topic", [Source(id="S1", title="n", path="n.md", text="x")],
                     max_sections=4)
    assert len(brief.sections) == 4 and len(brief.description) <= 160 and brief.title == "A title"
    assert brief.sources == ["S1"]


def test_clean_section_strips_headings_labels_and_echoes() -> None:
    raw = "Final Answer: Thin margins\n# Thin margins\n\nFirst   paragraph.\n\n\n## Sub\nSecond paragraph."
    assert clean_section(raw, "Thin margins") == "First paragraph.\n\nSecond paragraph."


def test_assemble_builds_front_matter_sections_and_references() -> None:
    draft = BriefDraft(title_ideas=["T"], sections=[
        SectionPlan(heading="One", points=["p"]), SectionPlan(heading="Two.", points=["p"])])
    brief = to_brief(draft, "A thesis.", "battery recycling", [], 4)
    sources = [Source(id="S1", title="Agency notes", path="notes.md", text="x"),
               Source(id="S2", title="Never cited", path="other.md", text="y"),
               Source(id="S3", title="Union survey", path="survey.md", text="z")]
    text = assemble(brief, ["Body one [3].", "Body two [1, 3]."], sources, "2026-01-02", "battery recycling")
    assert text.startswith('---\nlayout: post\ntitle: "T"\ndate: 2026-01-02\n')
    assert 'description: "A thesis."' in text and "## One\n\nBody one [1]." in text and "## Two\n" in text
    # Exactly the cited sources, in the order first cited, and the citations numbered to match.
    assert text.rstrip().endswith("## References\n\n1. Union survey (survey.md)\n2. Agency notes (notes.md)")
    assert sections(text) == ["One\n\nBody one [1].", "Two\n\nBody two [2, 1]."]


@pytest.mark.parametrize(("passed", "score", "revision", "max_rev", "expected"), [
    (True, None, 0, 2, "publish"), (True, 3.0, 0, 2, "publish"), (True, 2.0, 0, 2, "revise"),
    (False, 5.0, 1, 2, "revise"), (False, 5.0, 2, 2, "reject"), (False, None, 0, 0, "stop"),
])
def test_decide(passed: bool, score: float | None, revision: int, max_rev: int, expected: str) -> None:
    assert decide(passed, score, 2.5, revision, max_rev) == expected


@pytest.mark.parametrize("topic", ["../../etc/passwd", "a/b\\c", "..", "  ", "Ünïcödé café!", "x" * 500])
def test_output_paths_never_leave_the_directory(tmp_path, topic: str) -> None:
    article, review = output_paths(tmp_path, topic, "2026-01-02")
    assert article.parent == tmp_path.resolve() and review.parent == tmp_path.resolve()
    assert article.name.startswith("2026-01-02-") and len(slugify(topic)) <= 60


@pytest.mark.parametrize(("topic", "slug"), [
    ("电池回收", "dianchihuishou"), ("Москва строит метро", "moskva-stroit-metro"),
    ("Ünïcödé café!", "unicode-cafe"), ("🔋 recycling", "battery-recycling"), ("🙂", "slight-smile")])
def test_other_scripts_are_transliterated(topic: str, slug: str) -> None:
    assert slugify(topic) == slug


def test_reserved_names_never_collide_and_never_overwrite(tmp_path) -> None:
    import threading

    from newsroom.outputs import reserve_paths

    (tmp_path / "2026-01-02-dianchihuishou.md").write_text("an earlier article")
    (tmp_path / "2026-01-02-dianchihuishou-run0001.md").symlink_to(tmp_path / "victim.txt")
    claimed: list[Path] = []
    lock = threading.Lock()

    def claim(i: int) -> None:
        article, _ = reserve_paths(tmp_path, "电池回收", "2026-01-02", "run0001")
        with lock:
            claimed.append(article)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(claimed)) == 12
    assert (tmp_path / "2026-01-02-dianchihuishou.md").read_text() == "an earlier article"
    assert not (tmp_path / "victim.txt").exists()
    assert sorted(p.name for p in claimed)[:2] == ["2026-01-02-dianchihuishou-run0001-10.md",
                                                   "2026-01-02-dianchihuishou-run0001-11.md"]


@pytest.mark.parametrize(("content", "message"), [
    (b"agents: [\n", "invalid YAML"),
    (b"\xff\xfe", "not UTF-8"),
    (b"- a list\n", "expected a mapping"),
    (b"agents: {}\ntasks: {propose: {agent: ghost, description: d, expected_output: e}}\n", "names agent 'ghost'"),
    (b"agents: {a: {role: r, goal: g}}\ntasks: {}\n", "field 'agents.a.backstory'"),
    (b"agents: {a: {role: r, goal: g, backstory: b}}\ntasks: {}\n", "needs a task named 'propose'"),
    (b"agents: {a: {role: r, goal: g, backstory: b}}\n"
     b"tasks: {propose: {agent: a, description: 'Topic {topic', expected_output: e}}\n", "malformed template"),
    (b"agents: {a: {role: r, goal: g, backstory: b}}\n"
     b"tasks: {propose: {agent: a, description: 'Angle {0} of {topic}', expected_output: e}}\n",
     r"placeholder \{0\}, which the discover stage does not supply"),
    (b"agents: {a: {role: r, goal: g, backstory: b}}\n"
     b"tasks: {propose: {agent: a, description: 'About {subject}', expected_output: e}}\n",
     r"\{subject\}.*use \{i\}, \{lens\}, \{n\}, \{sources_note\}, \{taken\}, \{topic\}"),
])
def test_bad_crew_files_name_the_file_and_the_field(tmp_path, content: bytes, message: str) -> None:
    from newsroom.crews import load_crew
    from newsroom.errors import ConfigError

    path = tmp_path / "discover.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_crew(path, "discover")
    assert str(path) in str(info.value)


def test_the_shipped_crews_and_flow_load(tmp_path) -> None:
    from newsroom.crews import STAGES, load_crews
    from newsroom.errors import ConfigError
    from newsroom.paths import data_dir
    from newsroom.stages.context import load_flow

    crews = load_crews(data_dir("crews"))
    assert set(crews) == set(STAGES)
    assert len(load_flow(data_dir("flows")).editorial.board) >= 3
    (tmp_path / "article.yaml").write_text("stages: [discover, generate]\neditorial: {board: []}\n")
    with pytest.raises(ConfigError, match="board"):
        load_flow(tmp_path)


def test_brief_drops_generic_sections_when_enough_specific_ones_remain() -> None:
    heads = ["Introduction", "Traffic evaporates", "Land is freed", "Shops return", "Conclusion"]
    draft = BriefDraft(title_ideas=["T"], sections=[SectionPlan(heading=h, points=["p"]) for h in heads])
    brief = to_brief(draft, "Roads go. A second sentence cut off in the", "roads", [], 4, 3)
    assert [s.heading for s in brief.sections] == ["Traffic evaporates", "Land is freed", "Shops return"]
    assert brief.thesis == "Roads go."
    few = BriefDraft(title_ideas=["T"], sections=[SectionPlan(heading=h, points=["p"]) for h in heads[:2]])
    assert [s.heading for s in to_brief(few, "x", "roads", [], 4, 3).sections] == heads[:2]


def test_a_heading_that_is_a_field_name_takes_its_first_point() -> None:
    # The brief the default model wrote in the grounded eval: "Thesis", "Argument", "Sources".
    plans = [("Thesis", "The flyover's removal freed land"), ("Argument", "Traffic fell and homes went up"),
             ("Sources", "What the traders say"), ("Section 4", "What other cities learn")]
    draft = BriefDraft(title_ideas=["T"], sections=[SectionPlan(heading=h, points=[p]) for h, p in plans])
    assert [s.heading for s in to_brief(draft, "x", "roads", [], 4, 2).sections] == [p for _, p in plans]
    kept = BriefDraft(title_ideas=["T"], sections=[SectionPlan(heading=h, points=["p"])
                                                   for h in ("The evidence from Seoul", "Sources of funding")])
    assert [s.heading for s in to_brief(kept, "x", "roads", [], 4, 2).sections] == [
        "The evidence from Seoul", "Sources of funding"]


def test_a_heading_that_is_a_source_title_or_too_long_a_point_becomes_whole_clauses() -> None:
    # From the grounded eval at 7263fe0: a section headed with a note's title, and a point cut to
    # "The tree planting programme in Southport, UK, demonstrates".
    notes = [Source(id="S1", title="Interview notes: Dr Ines Carvalho, public health consultant", path="h.md",
                    text="Call-outs doubled.")]
    point = "The tree planting programme in Southport, UK, demonstrates the positive impact of shade"
    draft = BriefDraft(title_ideas=["T"], sections=[
        SectionPlan(heading="Thesis", points=[point]),
        SectionPlan(heading="Interview notes: Dr Ines Carvalho, public health consultant",
                    points=["What the doctor saw in the heatwave"]),
        SectionPlan(heading="Shade", points=["p"])])
    assert [s.heading for s in to_brief(draft, "x", "trees", notes, 4, 2).sections] == [
        "The tree planting programme in Southport, UK", "What the doctor saw in the heatwave", "Shade"]
    assert heading_from("A point without any commas that runs on well past the sixty characters allowed") == (
        "A point without any commas that runs on well past")  # whole words, no dangling "the"


def test_clean_title_drops_labels_and_refuses_template_slots() -> None:
    assert clean_title("Title 1: Why roads fall", "fallback") == "Why roads fall"
    assert clean_title("[Title]", "fallback") == "fallback"


def test_the_brief_finishes_cut_off_headings_and_drops_repeated_ones() -> None:
    head = "Why tearing down motorways is not just about economy; it's about"
    draft = BriefDraft(title_ideas=["Why tearing down urban motorways is about social justice and"], sections=[
        SectionPlan(heading=head, points=["Safety on the new streets"]),
        SectionPlan(heading=head, points=["Who loses their homes"]),
        SectionPlan(heading=head, points=["Safety on the new streets"])])
    brief = to_brief(draft, "Roads go.", "roads", [], 4, 3)
    assert brief.title == "Why tearing down urban motorways is about social justice"
    assert [s.heading for s in brief.sections] == ["Why tearing down motorways is not just about economy",
                                                   "Who loses their homes", "Safety on the new streets"]


NOTE = [Source(id="S1", title="Council review", path="council.md",
               text="Traffic fell 15%; the flyover cost £86 million.")]


@pytest.mark.parametrize(("text", "expected"), [
    ("A four-day week raises productivity by up to 20%.", "A four-day week raises productivity."),
    ("Traffic fell by 15% after the road closed, saving £4 million.", "Traffic fell by 15% after the road closed."),
    ("It cost £86 million, a fall of 3% in the budget.", "It cost £86 million, a fall in the budget."),
    ("Over 2,000 adults were surveyed.", ""),
    ("Roads go.", "Roads go."),
])
def test_a_brief_keeps_only_the_figures_its_sources_hold(text: str, expected: str) -> None:
    assert drop_ungrounded_figures(text, NOTE) == expected


def test_an_invented_figure_never_reaches_the_title_thesis_or_description() -> None:
    draft = BriefDraft(title_ideas=["Four days lift output by 20%"],
                       sections=[SectionPlan(heading=h, points=["p"]) for h in ("Output", "Hours")])
    brief = to_brief(draft, "A four-day week raises productivity by up to 20%.", "four-day weeks", [], 4, 1)
    assert (brief.title, brief.thesis, brief.description) == (
        "Four days lift output", "A four-day week raises productivity.", "A four-day week raises productivity.")
    fallback = to_brief(draft, "Over 2,000 adults were surveyed.", "four-day weeks", [], 4, 1)
    assert fallback.thesis == "Four-day weeks"


def test_a_heading_the_grammar_cut_mid_word_loses_the_broken_word() -> None:
    cut = "The Impact of Demolition on Harrowgate City Council's Eastside Corrido"  # 70 characters: the limit
    draft = BriefDraft(title_ideas=["T"], sections=[SectionPlan(heading=h, points=["p"]) for h in (cut, "Land")])
    assert [s.heading for s in to_brief(draft, "x", "roads", [], 4, 2).sections] == [
        "The Impact of Demolition on Harrowgate City Council's Eastside", "Land"]
