"""A crewAI Crew with one agent on the adapter runs on the local model; every call is metered."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.llm.crewai_adapter import load_crewai, make_llm
from newsroom.llm.local import LocalChatModel
from newsroom.llm.metered import Metered
from newsroom.roi.ledger import RoiLedger

pytestmark = pytest.mark.slow


def test_crew_calls_go_through_metered_tagged_by_stage_and_agent(local_server, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai"))
    crewai = load_crewai()
    model = LocalChatModel(local_server.config, model_name="SmolLM2-135M-Instruct-Q4_1")
    ledger = RoiLedger(tmp_path / "ledger.jsonl")
    metered = Metered(model, ledger, execution_id="crew")
    llm = make_llm(metered, stage="discover", max_tokens=80)

    agent = crewai.Agent(role="Scout", goal="Find article angles", backstory="A curious reporter.",
                         llm=llm, allow_delegation=False, max_iter=2, verbose=False)
    task = crewai.Task(description="Propose one article angle about {topic}.", expected_output="One sentence.",
                       agent=agent)
    from crewai.events import LLMCallCompletedEvent, LLMCallStartedEvent, crewai_event_bus

    events: list[str] = []
    with crewai_event_bus.scoped_handlers():
        crewai_event_bus.on(LLMCallStartedEvent)(lambda source, event: events.append("started"))
        crewai_event_bus.on(LLMCallCompletedEvent)(lambda source, event: events.append("completed"))
        output = crewai.Crew(agents=[agent], tasks=[task], verbose=False).kickoff(inputs={"topic": "coffee prices"})

    assert output.raw.strip()
    records = [r for r in ledger.read().records if r["type"] == "llm_call"]
    assert records, "the crew made no metered call"
    assert all(r["stage"] == "discover" and r["agent"] == "Scout" and r["status"] == "ok" for r in records)
    # No agent may fall back to a default model: the agent's LLM is ours.
    assert agent.llm is llm
    # crewAI stalls 5 s per agent execution unless every call emits its started and completed events.
    assert events.count("started") == events.count("completed") == len(records)
