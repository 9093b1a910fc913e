"""The fixed text of the crews' prompts, for the check that finds it echoed in an article.

Only the literal parts count: what sits between ``{placeholders}`` in task descriptions, plus the
agents' role, goal and backstory and the tasks' expected output. The values filled into a prompt
(the topic, the brief's thesis and outline) are the article's own material and may be reused.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def literals(template: str) -> list[str]:
    """The fixed stretches of a ``str.format`` template, split at its placeholders."""
    return [part.strip() for part in _PLACEHOLDER.split(template) if part.strip()]


def crew_literals(data: dict[str, Any]) -> list[str]:
    """Every fixed prompt text of one crew definition (a parsed ``crews/<stage>.yaml``)."""
    out: list[str] = []
    for agent in (data.get("agents") or {}).values():
        if isinstance(agent, dict):
            out.extend(str(agent.get(k, "")) for k in ("role", "goal", "backstory") if agent.get(k))
    for task in (data.get("tasks") or {}).values():
        if isinstance(task, dict):
            out.extend(literals(str(task.get("description", ""))))
            out.extend(literals(str(task.get("expected_output", ""))))
    return out


@cache
def crews_prompt_text(directory: Path) -> tuple[str, ...]:
    """The fixed prompt text of every crew in ``directory`` (unreadable files contribute nothing)."""
    import yaml

    out: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            out.extend(crew_literals(data))
    return tuple(out)


def default_prompt_text() -> tuple[str, ...]:
    from newsroom.paths import data_dir

    return crews_prompt_text(data_dir("crews"))
