"""Style memory as a run uses it: every lookup is guarded, and a missing, corrupt or slow store
degrades the run (no retrieval, the reason noted in the review) instead of failing it."""

from __future__ import annotations

import logging
from typing import Any

from newsroom.config import Settings
from newsroom.errors import NewsroomError

log = logging.getLogger(__name__)


class StyleAccess:
    """Implements ``stages.context.StyleLookup`` over ``StyleMemory.safe_*`` calls."""

    def __init__(self, memory: Any, notes: list[str], *, owned: bool = False) -> None:
        self.memory = memory
        self.notes = notes
        self.owned = owned  # opened for this run, so this run closes it

    def close(self) -> None:
        if self.owned:
            self.memory.close()

    def _note(self, outcome: Any) -> list[dict[str, Any]]:
        if outcome.degraded:
            note = f"style memory degraded: {outcome.reason}"
            if note not in self.notes:
                self.notes.append(note)
            return []
        return [h.as_dict() for h in outcome.hits]

    def rules_for(self, text: str, k: int) -> list[dict[str, Any]]:
        return self._note(self.memory.safe_query(text, k, kinds=["rule"])) if k else []

    def exemplars_for(self, text: str, k: int) -> list[dict[str, Any]]:
        return self._note(self.memory.safe_query(text, k, kinds=["exemplar"])) if k else []

    def nearest_published(self, text: str) -> tuple[str, float] | None:
        hits = self._note(self.memory.safe_similar_published(text, 1))
        if not hits:
            return None
        return hits[0]["text"] or hits[0]["id"], round(1.0 - float(hits[0]["distance"]), 4)

    def add_published(self, article_id: str, title: str, text: str) -> None:
        try:
            self.memory.add_published(article_id, title, text)
        except NewsroomError as exc:
            self.notes.append(f"could not add the article to the published collection: {exc}")


def open_style(settings: Settings, notes: list[str]) -> StyleAccess | None:
    """Open and warm the workspace's style memory; on failure note why and run without it."""
    try:
        from newsroom.style.memory import StyleMemory

        memory = StyleMemory.from_settings(settings)
        memory.warm()  # loads the embedder and indexes the pack if needed, outside the query timeout
        return StyleAccess(memory, notes, owned=True)
    except (NewsroomError, ImportError, OSError) as exc:
        log.warning("running without style memory: %s", exc)
        notes.append(f"style memory unavailable: {exc}")
        return None
