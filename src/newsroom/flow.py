"""The article flow on crewAI's Flow. Each method reads state, calls a step, writes state; the
router loops back to ``generate`` while the quality gate asks for a revision."""

from __future__ import annotations

from functools import cache
from typing import Any

from newsroom.pipeline import ArticleState, step_discover, step_editorial, step_generate, step_quality_gate
from newsroom.stages.context import StageContext


@cache
def _flow_class() -> type:
    from newsroom.llm.crewai_adapter import load_crewai

    load_crewai()
    from crewai.flow.flow import Flow, listen, or_, router, start
    from pydantic import PrivateAttr

    class ArticleFlow(Flow[ArticleState]):
        _ctx: Any = PrivateAttr(default=None)

        @start()
        def discover(self) -> None:
            step_discover(self._ctx, self.state)

        @listen(discover)
        def editorial(self) -> None:
            step_editorial(self._ctx, self.state)

        @listen(or_(editorial, "revise"))
        def generate(self) -> None:
            step_generate(self._ctx, self.state)

        @router(generate)
        def quality_gate(self) -> str:
            return step_quality_gate(self._ctx, self.state)

    return ArticleFlow


def run_flow(ctx: StageContext, state: ArticleState) -> ArticleState:
    """Run the stages on a crewAI Flow and return the final state."""
    from newsroom.llm.crewai_adapter import quiet_console

    quiet_console()
    flow = _flow_class()()
    flow._ctx = ctx
    try:
        flow.kickoff(inputs=state.model_dump(mode="json"))
    finally:
        # Keep what the stages produced, also when one of them raised.
        final = ArticleState.model_validate(flow.state.model_dump(mode="json"))
        state.__dict__.update(final.__dict__)
    return state
