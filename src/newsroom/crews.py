"""Crews from ``crews/*.yaml``: agents (role, goal, backstory) and tasks (description, expected
output, output model), run as real crewAI Crews whose every call goes through ``Metered``.

Each step of a stage is one small Crew: one agent, one task. Task descriptions are formatted here
(``{name}`` placeholders) so crewAI never re-interpolates text that came from a user or a model.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from newsroom.datafiles import load_yaml_model
from newsroom.errors import ConfigError, StageError
from newsroom.llm.base import Completion
from newsroom.llm.metered import Metered
from newsroom.stages.models import OUTPUT_MODELS

STAGES = ("discover", "editorial", "generate", "quality_gate")
# What each stage asks of its crew: the tasks it runs and the values it fills into their templates.
# A crew file may word a task as it likes, but only with these placeholders.
TASK_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "discover": {"propose": frozenset({"topic", "i", "n", "taken", "lens", "sources_note"})},
    "editorial": {"vote": frozenset({"topic", "focus", "candidates"}),
                  "brief": frozenset({"topic", "hook", "thesis", "sources", "min_sections", "max_sections",
                                      "facts_instruction"})},
    "generate": {"section": frozenset({"title", "thesis", "heading", "points", "others", "facts", "sources",
                                       "rules", "words", "paragraphs", "revision_notes"})},
    "quality_gate": {"review": frozenset({"topic", "thesis", "thesis_short", "draft"})},
}


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: str
    goal: str
    backstory: str
    max_tokens: int = Field(default=512, ge=16, le=8192)
    temperature: float = Field(default=0.7, ge=0, le=2)


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    agent: str
    description: str
    expected_output: str
    output: str | None = None


class CrewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stage: str
    agents: dict[str, AgentSpec]
    tasks: dict[str, TaskSpec]


def load_crew(path: Path, stage: str) -> CrewSpec:
    spec = load_yaml_model(path, CrewSpec, what="crew definition", option="every stage needs one; --crews",
                           extra={"stage": stage})
    for name in TASK_FIELDS.get(stage, {}):
        if name not in spec.tasks:
            raise ConfigError(f"{path}: the {stage} stage needs a task named {name!r}; the file defines "
                              f"{', '.join(sorted(spec.tasks)) or 'none'}")
    for name, task in spec.tasks.items():
        _check_template(path, stage, name, task.description)
        if task.agent not in spec.agents:
            raise ConfigError(f"{path}: task {name!r} names agent {task.agent!r}, which is not defined")
        if task.output is not None and task.output not in OUTPUT_MODELS:
            raise ConfigError(f"{path}: task {name!r} output {task.output!r} is not one of "
                              f"{', '.join(OUTPUT_MODELS)}")
    return spec


def _check_template(path: Path, stage: str, task: str, template: str) -> None:
    """A task template must format with exactly the values its stage supplies: checked at load, so a
    stray brace or an unknown placeholder stops the run before any paid call."""
    allowed = TASK_FIELDS.get(stage, {}).get(task)
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{path}: task {task!r} has a malformed template ({exc}); write a literal brace as "
                          "{{ or }}") from None
    for field in fields:
        if not field.isidentifier() or (allowed is not None and field not in allowed):
            known = ", ".join("{" + f + "}" for f in sorted(allowed or ()))
            raise ConfigError(f"{path}: task {task!r} uses the placeholder {{{field}}}, which the {stage} stage "
                              f"does not supply; use {known or 'none'}, or write a literal brace as {{{{ or }}}}")


def load_crews(directory: Path) -> dict[str, CrewSpec]:
    """One YAML file per stage: ``discover.yaml``, ``editorial.yaml``, ``generate.yaml``, ``quality_gate.yaml``."""
    if not directory.is_dir():
        raise ConfigError(f"crews directory {str(directory)!r} does not exist (--crews)")
    return {stage: load_crew(directory / f"{stage}.yaml", stage) for stage in STAGES}


def prompt_text(crews: dict[str, CrewSpec]) -> tuple[str, ...]:
    """The fixed text of every prompt these crews send, crewAI's own wrapper included (for the checks
    that find an echo of it in an article)."""
    from newsroom.llm.crewai_adapter import wrapper_text
    from newsroom.style.prompts import crew_literals

    return tuple(t for spec in crews.values() for t in crew_literals(spec.model_dump())) + wrapper_text()


def render(task: TaskSpec, values: dict[str, Any], stage: str) -> str:
    try:
        return task.description.format_map(values)
    except KeyError as exc:
        raise StageError(f"task template needs {{{exc.args[0]}}}, which the stage did not supply",
                         stage=stage) from None


@dataclass(frozen=True)
class TaskRun:
    """What one task produced: the output (a pydantic model or text) and the model call behind it."""

    output: Any
    completion: Completion | None
    prompt: str


def run_task(metered: Metered, spec: CrewSpec, task_name: str, values: dict[str, Any], *,
             agent: AgentSpec | None = None, seed: int | None = None) -> Any:
    """Run one task as a one-agent crewAI Crew. Returns the pydantic output or the raw text."""
    return run_task_detail(metered, spec, task_name, values, agent=agent, seed=seed).output


def run_task_detail(metered: Metered, spec: CrewSpec, task_name: str, values: dict[str, Any], *,
                    agent: AgentSpec | None = None, seed: int | None = None) -> TaskRun:
    """``run_task``, also returning the last completion (its finish reason) and the task prompt."""
    from newsroom.llm.crewai_adapter import load_crewai, make_llm, quiet_console

    crewai = load_crewai()
    quiet_console()
    task = spec.tasks[task_name]
    agent_spec = agent or spec.agents[task.agent]
    llm = make_llm(metered, stage=spec.stage, max_tokens=agent_spec.max_tokens,
                   temperature=agent_spec.temperature, seed=seed)
    crew_agent = crewai.Agent(role=agent_spec.role, goal=agent_spec.goal, backstory=agent_spec.backstory,
                              llm=llm, allow_delegation=False, max_iter=1, max_retry_limit=0, verbose=False)
    output_model: type[BaseModel] | None = OUTPUT_MODELS.get(task.output) if task.output else None
    prompt = render(task, values, spec.stage)
    # With response_model set, crewAI leaves the pretty-printed JSON schema out of the prompt (hundreds
    # of tokens a small model reads at ~65 tok/s) and hands the model class to our LLM, which asks the
    # provider for grammar-constrained JSON instead.
    crew_task = crewai.Task(description=prompt, expected_output=task.expected_output, agent=crew_agent,
                            output_pydantic=output_model, response_model=output_model)
    result = crewai.Crew(agents=[crew_agent], tasks=[crew_task], verbose=False).kickoff()
    if output_model is not None:
        if not isinstance(result.pydantic, output_model):
            raise StageError(f"task {task_name!r} returned no valid {output_model.__name__}", stage=spec.stage)
        return TaskRun(result.pydantic, llm.last_completion, prompt)
    return TaskRun(str(result.raw or ""), llm.last_completion, prompt)
