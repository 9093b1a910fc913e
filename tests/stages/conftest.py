"""A scripted newsroom: deterministic replies for every task of the four stages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from newsroom.config import Settings
from newsroom.llm.base import ChatRequest
from newsroom.stages.generate import REVISION_HEADER
from newsroom.stages.models import BriefDraft, CandidateDraft, EditorReview, Vote

CLEAN_SECTIONS = [
    "Shipments of used lithium-ion cells to British recycling plants rose by more than a third last year, according to "
    "the Environment Agency's annual waste return. Most of that growth came from electric-car batteries "
    "reaching the end of their first life, a stream that barely existed five years ago. The agency expects "
    "the volume to double again before the end of the decade as the first large fleets of electric taxis "
    "are retired. Plant operators say the bottleneck is no longer demand but the supply of qualified "
    "technicians who can discharge and dismantle packs safely. Each pack arrives in a different shape, and "
    "few carry labels that say which chemistry sits inside, so sorting remains slow, manual and expensive. "
    "The largest operator in the Midlands told the agency that it now turns away one shipment in five "
    "because it cannot process the cells quickly enough to keep its storage yard within fire limits. "
    "Training takes time. The Institute of the Motor Industry, which certifies technicians who handle "
    "high-voltage systems, says it registered a few thousand new qualifications last year, well short of the "
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
# Three sections that take their figures from eval/sources/batteries (agency.md [1], prices.md [2],
# union.md [3]) and cite them.
GROUNDED_SECTIONS = [
    "Shipments of spent lithium-ion packs to the region's licensed recyclers rose by 38% in 2025, to 41,000 "
    "tonnes, according to the Northmoor Environment Agency [1]. Most of that growth came from electric cars "
    "reaching the end of their first life, a stream that barely existed a decade ago. The agency counted 14 "
    "licensed treatment sites, and two of them handled more than half of all the packs received [1]. That "
    "concentration matters, because a single breakdown at either plant backs up the whole region. Packs wait "
    "in yards that were never designed to hold them for weeks at a time, and the risk grows with every lorry "
    "that arrives. Inspectors recorded 23 fires at storage yards during the year, most of them in packs that "
    "had arrived without a label stating their chemistry [1]. Each unlabelled pack has to be opened and "
    "tested by hand before anyone knows how to treat it, which slows every line and keeps more packs waiting "
    "outside in the rain. Plant managers describe the same routine: a pack arrives, a technician checks its "
    "casing for damage, drains what charge is left and only then decides which line can take it. None of "
    "those steps can be hurried safely, and none of them was planned for the volumes now arriving at the "
    "gates every morning from dealers, scrapyards and fleet operators across the region.",
    "The money has moved against the recyclers at the same time. Recovered cobalt traded at an average of "
    "£19,500 a tonne in 2025, down 27% on the year before, according to the Kestrel Metals Bulletin [2]. "
    "Nickel-rich cells still pay, since a tonne of their black mass fetches about three times as much as a "
    "tonne from iron-phosphate cells [2]. Carmakers, though, are moving to iron-phosphate designs to cut the "
    "cost of their cars, which leaves the plants with more of the cheaper material every month. Seven of the "
    "region's 14 recyclers now charge carmakers a gate fee for iron-phosphate packs, with a median of £310 a "
    "tonne [2]. That reverses the old arrangement, under which every spent pack had a buyer, and it pushes "
    "the cost of disposal back onto the firms that sold the cars in the first place. For the plants the "
    "change is a relief, since a fee covers the handling whether or not metal prices recover. For carmakers "
    "it is a new cost that their accounts did not foresee when the cars were sold, and several are now "
    "talking to the plants about long contracts that would fix the fee for years ahead, in return for a "
    "promise that their packs will be taken first when the yards are full.",
    "People, not packs, are the bottleneck. The region has about 1,200 technicians certified to discharge "
    "high-voltage packs, and recyclers have told the technicians' union that they will need 2,000 by 2027 [3]. "
    "Aled Price, who speaks for the union, puts it plainly: the plants have packs and buyers for the metal, "
    "but not the people who can open a pack without setting it alight [3]. Training a technician takes about "
    "nine months, according to the union [3], so the gap will not close quickly even if colleges expand their "
    "courses this year. Until it does, the plants will keep turning lorries away at the gate, and the yards "
    "will keep filling with packs that nobody has yet opened, sorted or made safe. Colleges say the courses "
    "are not the hard part; finding instructors who have done the work is. Most experienced technicians "
    "can earn more on the plant floor than in a classroom, so the people best placed to teach the next "
    "cohort are the ones the plants can least afford to release, and the shortage feeds itself.",
]


# Three distinct sections that break the house style (openings, cliches, an exclamation mark, a
# weak ending) but are long, on topic and do not repeat themselves: the writer keeps them, the gate
# sends them back.
DIRTY_SECTIONS = [
    "In today's fast-paced world, battery recycling is a game-changer for carmakers and their suppliers! "
    "Plants across the Midlands are struggling to cope with the packs that arrive every week from "
    "dealers, scrapyards and fleet operators. The firms that run them want to leverage synergies with "
    "carmakers, but most of their lines were built for a smaller and tidier stream of waste. Sorting is "
    "done by hand, because few packs carry a label that says which chemistry sits inside, and every "
    "mistake risks a fire in the storage yard. Technicians who can discharge a pack safely are scarce, "
    "and training a new one takes the best part of a year. Until more of them qualify, the plants will "
    "keep turning lorries away at the gate, however many contracts their sales teams sign. The backlog "
    "is already visible from the road, where pallets of spent packs wait under tarpaulins for weeks.",
    "It goes without saying that metal prices drive the whole business. Cobalt and nickel fetch far more "
    "than lithium, so recyclers have always preferred the older, richer cells that carmakers are now "
    "abandoning. Iron-phosphate packs are cheaper to build and, for the same reason, worth less as scrap "
    "when they reach the end of their life. Several firms now charge a fee to take them, reversing the "
    "arrangement that held when the trade was young and every pack had a buyer. That shift moves the cost "
    "of disposal onto carmakers and, eventually, onto the drivers who buy their cars. Managers at the "
    "plants describe the change as a perfect storm, with falling prices and rising volumes arriving in the "
    "same year and squeezing margins from both sides. Some have stopped quoting prices more than a month "
    "ahead, and one large plant in Yorkshire has mothballed a line it opened only two years ago.",
    "Regulation is catching up with the trade at last. Brussels now requires a digital passport that "
    "records each pack's chemistry and history, and exporters selling into the single market must comply "
    "whether or not Britain copies the rule. The passport tells a plant what it is handling before anyone "
    "opens the casing, which could do more for safety and speed than any subsidy on offer. Firms that "
    "invest in sorting lines now will be best placed when the recycled-content targets tighten later in "
    "the decade, and those that wait may find the richest feedstock already contracted to rivals. The "
    "likely outcome is a smaller number of larger recyclers on long contracts, each tied to a carmaker "
    "or a battery maker that guarantees its supply. The independent scrap dealers who handled the first "
    "wave of packs would be the losers. In conclusion, only time will tell.",
]


CANDIDATES = [
    {"hook": "Britain's battery recyclers are turning packs away", "thesis": "Capacity, not demand, limits "
     "battery recycling", "timeliness": 5, "evidence": 4, "contrarian": 3, "audience_fit": 4, "style_fit": 4},
    {"hook": "Cheaper batteries are worth less as scrap", "thesis": "Iron-phosphate cells squeeze recyclers' "
     "margins", "timeliness": 4, "evidence": 3, "contrarian": 5, "audience_fit": 3, "style_fit": 4},
    {"hook": "Battery passports arrive", "thesis": "Labelling will do more than subsidy", "timeliness": 3,
     "evidence": 3, "contrarian": 2, "audience_fit": 3, "style_fit": 3},
]


def editor_reply(request: ChatRequest, *, passed: bool) -> dict[str, object]:
    """The editor's answers: each cites the draft's first sentence, "yes" when ``passed``."""
    answer = {"sentence": 1, "answer": "yes" if passed else "no"}
    return {"on_topic": answer, "makes_argument": answer, "specific": answer, "new_points": answer,
            "required_fixes": [] if passed else [{"sentence": 1, "problem": "vague", "fix": "be specific"}]}


HEADINGS = ["A flood of spent packs", "Thin margins", "Rules arrive"]


def script(sections: list[list[str]], reviews: list[int] | None = None) -> Callable[[ChatRequest], str]:
    """Replies keyed by what each request asks for. A section's text comes from ``sections[0]`` on its
    first draft and from ``sections[1]`` (or the last given) once the gate has sent it back; the
    editor passes the draft when the next of ``reviews`` is 3 or more (default: always)."""
    state = {"reviews": 0, "candidates": 0}
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
                "title_ideas": ["Britain's battery recyclers cannot keep up."],
                "sections": [{"heading": HEADINGS[0], "points": ["volumes", "bottlenecks"]},
                             {"heading": HEADINGS[1], "points": ["metal prices", "gate fees"]},
                             {"heading": HEADINGS[2], "points": ["EU regulation", "passports"]}],
                "key_facts": ["Shipments rose 38% (Environment Agency)"]})
        if kind is EditorReview:
            score = scores[min(state["reviews"], len(scores) - 1)]
            state["reviews"] += 1
            return json.dumps(editor_reply(request, passed=score >= 3))
        prompt = request.messages[-1].content
        index = next(i for i, h in enumerate(HEADINGS) if f'part headed "{h}"' in prompt)
        texts = sections[min(1 if REVISION_HEADER in prompt else 0, len(sections) - 1)]
        return texts[index % len(texts)]

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
