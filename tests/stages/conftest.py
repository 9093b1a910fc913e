"""A scripted newsroom: deterministic replies for every task of the four stages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from newsroom.config import Settings
from newsroom.llm.base import ChatRequest
from newsroom.stages.models import BriefDraft, CandidateDraft, ReviewDraft, Vote

CLEAN_SECTIONS = [
    "Shipments of used lithium-ion cells to British recycling plants rose by 38% last year, according to "
    "the Environment Agency's annual waste return. Most of that growth came from electric-car batteries "
    "reaching the end of their first life, a stream that barely existed five years ago. The agency expects "
    "the volume to double again before the end of the decade as the first large fleets of electric taxis "
    "are retired. Plant operators say the bottleneck is no longer demand but the supply of qualified "
    "technicians who can discharge and dismantle packs safely. Each pack arrives in a different shape, and "
    "few carry labels that say which chemistry sits inside, so sorting remains slow, manual and expensive. "
    "The largest operator in the Midlands told the agency that it now turns away one shipment in five "
    "because it cannot process the cells quickly enough to keep its storage yard within fire limits. "
    "Training takes time. The Institute of the Motor Industry, which certifies technicians who handle "
    "high-voltage systems, says it registered about 4,000 new qualifications last year, well short of the "
    "number that employers told it they would need. Until that gap closes, capacity will grow more slowly "
    "than the pile of spent packs waiting outside the gates.",
    "The economics depend on metal prices. Recovered cobalt and nickel fetch far more than the lithium, "
    "which is why recyclers favour older chemistries rich in those metals. Benchmark Mineral Intelligence, "
    "a price-reporting agency, estimates that a tonne of black mass from nickel-rich cells is worth roughly "
    "three times as much as a tonne from iron-phosphate cells. As carmakers shift towards iron-phosphate "
    "batteries to cut costs, recyclers face a shrinking margin on every pack they process. Several firms "
    "have responded by charging carmakers a gate fee rather than paying for spent batteries, reversing the "
    "arrangement that prevailed when the industry was young. That change matters for policy, because a "
    "system that once paid for itself now needs either a subsidy or a legal obligation to keep working at "
    "the scale the government has promised in its industrial strategy. "
    "The Department for Business and Trade has consulted on extending producer responsibility to "
    "industrial and vehicle batteries, which would make the firm that sells a battery pay for its "
    "collection and treatment. Its consultation paper put the annual cost to producers at tens of millions "
    "of pounds, a sum that would fall mostly on carmakers with large fleets on British roads.",
    "Regulation is catching up. The European Union's battery regulation, which took effect in stages from "
    "2024, sets minimum shares of recycled content for new batteries and requires a digital passport "
    "recording each pack's chemistry and history. Britain has not copied the rules, but exporters that sell "
    "into the single market will have to comply anyway, according to the Society of Motor Manufacturers and "
    "Traders. The passport could do more for recycling than any subsidy, because it tells a plant what it "
    "is dealing with before the pack is opened. Firms that invest in sorting lines now will be the ones "
    "able to meet the content targets when they tighten, and the ones that wait may find the best feedstock "
    "already contracted to rivals. The likely result is consolidation: fewer, larger recyclers with long "
    "contracts, and a smaller role for the independent scrap trade that handled the first wave of packs. "
    "Investors appear to agree. According to filings at Companies House, three of the largest British "
    "recyclers raised new equity last year, and two of them named sorting equipment as the main use of the "
    "money. If the passport rules work as intended, the value of a spent battery will depend less on the "
    "price of cobalt and more on how quickly a plant can identify what it has received.",
]
DIRTY_SECTION = ("In today's fast-paced world, experts say recycling is a game-changer! We must leverage "
                 "synergies to optimize the color of the industry. In conclusion, only time will tell.")


CANDIDATES = [
    {"hook": "Britain's battery recyclers are turning packs away", "thesis": "Capacity, not demand, limits "
     "battery recycling", "timeliness": 5, "evidence": 4, "contrarian": 3, "audience_fit": 4, "style_fit": 4},
    {"hook": "Cheaper batteries are worth less as scrap", "thesis": "Iron-phosphate cells squeeze recyclers' "
     "margins", "timeliness": 4, "evidence": 3, "contrarian": 5, "audience_fit": 3, "style_fit": 4},
    {"hook": "Battery passports arrive", "thesis": "Labelling will do more than subsidy", "timeliness": 3,
     "evidence": 3, "contrarian": 2, "audience_fit": 3, "style_fit": 3},
]


def script(sections: list[list[str]], reviews: list[int] | None = None) -> Callable[[ChatRequest], str]:
    """Replies keyed by the task: ``sections[r]`` are the section texts of revision round r."""
    state = {"round": -1, "section": 0, "reviews": 0, "candidates": 0}
    scores = reviews or [4] * 10

    def reply(request: ChatRequest) -> str:
        kind = request.output_type
        if kind is CandidateDraft:
            state["candidates"] += 1
            return json.dumps(CANDIDATES[(state["candidates"] - 1) % len(CANDIDATES)])
        if kind is Vote:
            return json.dumps({"ranking": [1, 2, 3], "rationale": "The strongest evidence and the clearest news peg."})
        if kind is BriefDraft:
            return json.dumps({
                "thesis": "Recycling capacity, not demand, now limits how many spent batteries Britain can reuse.",
                "title_ideas": ["Britain's battery recyclers cannot keep up."],
                "sections": [{"heading": "A flood of spent packs", "points": ["volumes", "bottlenecks"]},
                             {"heading": "Thin margins", "points": ["metal prices", "gate fees"]},
                             {"heading": "Rules arrive", "points": ["EU regulation", "passports"]}],
                "key_facts": ["Shipments rose 38% (Environment Agency)"]})
        if kind is ReviewDraft:
            score = scores[min(state["reviews"], len(scores) - 1)]
            state["reviews"] += 1
            return json.dumps({"clarity": score, "evidence": score, "structure": score, "style": score,
                               "required_fixes": [] if score >= 3 else [
                                   {"quote": "game-changer", "problem": "cliche", "fix": "say what changed"}],
                               "verdict": "publish" if score >= 3 else "revise"})
        # A section of prose: a new round starts at the first section.
        if state["section"] == 0:
            state["round"] += 1
        texts = sections[min(state["round"], len(sections) - 1)]
        text = texts[state["section"] % len(texts)]
        state["section"] = (state["section"] + 1) % 3
        return text

    return reply


@pytest.fixture
def flow_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai"))
    for name in ("NEWSROOM_PROVIDER", "NEWSROOM_WORKSPACE", "NEWSROOM_BUDGET_TOKENS", "NEWSROOM_BUDGET_USD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scripted_settings(workspace: Path, **overrides: object) -> Settings:
    flags = {"style_memory": "off", **overrides.pop("flags", {})}  # type: ignore[dict-item]
    return Settings.load(workspace=workspace, flag_overrides=flags, **overrides)
