"""Which source chunks a section's prompt is given: never one the other sections already state (a
small model restates what its prompt holds). The share per section is in test_discover_api.py."""

from __future__ import annotations

from newsroom.stages.generate import reported
from newsroom.stages.models import Source
from newsroom.stages.research import Chunk, SourceIndex

POLL = Chunk(1, "Poll", "In a poll of 2,000 adults, 58% backed new reactors, up from 34% in 2015.")
COST = Chunk(2, "Report", "The reactor cost €11.2 billion against a budget of €3.9 billion and supplies 1,600 MW.")
PLAIN = Chunk(3, "Interview", "The engineers said the second reactor went faster because the crews had learnt.")


def test_a_chunk_is_reported_once_half_its_figures_are_stated_elsewhere() -> None:
    assert reported(POLL, ["Support rose to 58% of adults, from 34% in 2015 [1]."])
    assert reported(COST, ["It cost €11.2 billion in the end.", "It was budgeted at €3.9bn."])  # 2 of 3
    assert not reported(COST, ["It cost €11.2 billion in the end."])  # 1 of 3
    assert not reported(POLL, ["Support for reactors has grown."])
    # Without figures (or with too few stated), by its words: half its trigrams stated elsewhere.
    assert reported(PLAIN, ["The engineers said the second reactor went faster because the crews knew it."])
    assert not reported(PLAIN, ["The engineers said the second one was quicker to build."])
    assert not reported(POLL, ["In a poll of adults, support for new reactors grew."])


def test_search_leaves_out_what_skip_rejects_and_fills_k_from_the_rest() -> None:
    index = SourceIndex([Source(id=f"S{c.source}", title=c.title, path=f"{c.source}.md", text=c.text)
                         for c in (POLL, COST, PLAIN)])  # ranked by shared words: 2, 2 and 1
    assert [c.source for c in index.search("poll adults budget reactor", 2)] == [1, 2]
    assert [c.source for c in index.search("poll adults budget reactor", 2, skip=lambda c: c.source == 1)] == [2, 3]


def test_a_section_gets_its_share_and_never_nothing() -> None:
    from types import SimpleNamespace

    from newsroom.stages.generate import sources_block

    index = SourceIndex([Source(id=f"S{c.source}", title=c.title, path=f"{c.source}.md", text=c.text)
                         for c in (POLL, COST, PLAIN)])
    ctx = SimpleNamespace(research=index, flow=SimpleNamespace(generate=SimpleNamespace(source_chunks=4)))
    given = lambda others, sections=3: sources_block(ctx, "poll adults budget reactor", sections, others)  # noqa: E731
    assert given([]).count("\n[") == 1 and given([], sections=2).count("\n[") == 2  # 3 chunks over the sections
    assert "[1] Poll" in given([]) and "[1] Poll" not in given(["58% backed them, up from 34% in 2015."])
    everything = [POLL.text, COST.text, PLAIN.text]
    assert given(everything).count("\n[") == 1  # all stated: the best one, not none (it would invent)
    assert sources_block(SimpleNamespace(research=None), "q", 3, []) == ""
