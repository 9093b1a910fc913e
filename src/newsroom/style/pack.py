"""The house-style pack in ``knowledge/``: declarative rules and exemplar passages.

Layout of a pack directory::

    knowledge/
      rules/*.yaml       a YAML list of rules (see ``Rule``); files load in name order
      exemplars/*.yaml   a YAML list of exemplar passages (see ``Exemplar``)
      spelling/*.tsv     word lists that substitution rules reference with ``swap_file``

Rule kinds follow Vale's: ``existence`` (a listed word or phrase must not appear),
``substitution`` (a listed form should be replaced by its pair), ``occurrence`` (at most ``max``
matches per scope), and ``check`` (a named check implemented in code, e.g. word count).
A malformed file raises ``ConfigError`` naming the file, the rule and the field.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from newsroom.errors import ConfigError

# libyaml's safe loader when PyYAML has it (several times faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CATEGORIES = ("opening", "cliche", "hedging", "closing", "attribution", "spelling", "punctuation",
              "placeholder", "meta", "structure", "front_matter")
Category = Literal["opening", "cliche", "hedging", "closing", "attribution", "spelling", "punctuation",
                   "placeholder", "meta", "structure", "front_matter"]
Severity = Literal["critical", "high", "medium", "low"]
Scope = Literal["text", "first_sentence", "first_paragraph", "last_paragraph", "document"]


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    category: Category
    severity: Severity
    kind: Literal["existence", "substitution", "occurrence", "check"]
    description: str = Field(min_length=10)
    suggestion: str = Field(min_length=3)
    patterns: list[str] = Field(default_factory=list)
    regex: bool = False
    case_sensitive: bool = False
    swap: dict[str, str] = Field(default_factory=dict)
    swap_file: str | None = None
    max: int | None = Field(default=None, ge=0)
    check: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    scope: Scope = "text"
    exceptions: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list, description="sentences that break the rule")
    fragment: bool = Field(default=True, description="checked by `newsroom check --fragment`")

    @model_validator(mode="after")
    def _kind_fields(self) -> Rule:
        if self.kind in ("existence", "occurrence") and not self.patterns:
            raise ValueError(f"a {self.kind} rule needs 'patterns'")
        if self.kind == "occurrence" and self.max is None:
            raise ValueError("an occurrence rule needs 'max'")
        if self.kind == "substitution" and not (self.swap or self.swap_file):
            raise ValueError("a substitution rule needs 'swap' or 'swap_file'")
        if self.kind == "check" and not self.check:
            raise ValueError("a check rule needs 'check' (the name of a check in code)")
        return self


class Exemplar(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    category: Category
    title: str
    text: str = Field(min_length=40)
    shows: str = Field(default="", description="what the passage demonstrates")


class Pack(BaseModel):
    model_config = ConfigDict(frozen=True)

    root: Path
    rules: tuple[Rule, ...]
    exemplars: tuple[Exemplar, ...]
    swaps: dict[str, dict[str, str]] = Field(default_factory=dict, description="rule id -> full swap table")
    shipped: bool = Field(default=False, description="the pack inside newsroom: its tests hold its regular "
                                                     "expressions to the backtracking budget, so start-up skips that")

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _load_list(path: Path) -> list[Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: cannot parse ({str(exc).splitlines()[0]}); fix the file") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a YAML list of entries, got {type(data).__name__}")
    return data


def _validate(model: type[BaseModel], entry: Any, path: Path, index: int) -> Any:
    ident = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(entry)"
        raise ConfigError(f"{path}: {model.__name__.lower()} {ident!r}, field {field!r}: {err['msg']}") from None


def _read_swap_file(root: Path, name: str, rule_id: str) -> dict[str, str]:
    path = (root / name).resolve()
    if not path.is_file() or root.resolve() not in path.parents:
        raise ConfigError(f"rule {rule_id!r}: swap_file {name!r} not found under {root}")
    table: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise ConfigError(f"{path}:{lineno}: expected 'american<TAB>british', got {line!r}")
        table[parts[0].strip()] = parts[1].strip()
    return table


def load_pack(root: Path | str, *, shipped: bool = False) -> Pack:
    """Load and validate a pack directory. Rule ids must be unique across files."""
    root = Path(root)
    if not (root / "rules").is_dir():
        raise ConfigError(f"{root} is not a house-style pack (no rules/ directory); check --knowledge")
    rules: list[Rule] = []
    for path in sorted((root / "rules").glob("*.yaml")):
        rules.extend(_validate(Rule, e, path, i) for i, e in enumerate(_load_list(path)))
    exemplars: list[Exemplar] = []
    for path in sorted((root / "exemplars").glob("*.yaml")):
        exemplars.extend(_validate(Exemplar, e, path, i) for i, e in enumerate(_load_list(path)))
    seen: set[str] = set()
    items: list[Rule | Exemplar] = [*rules, *exemplars]
    for item in items:
        if item.id in seen:
            raise ConfigError(f"{root}: duplicate id {item.id!r}; ids must be unique")
        seen.add(item.id)
    swaps = {r.id: {**(_read_swap_file(root, r.swap_file, r.id) if r.swap_file else {}), **r.swap}
             for r in rules if r.kind == "substitution"}
    return Pack(root=root, rules=tuple(rules), exemplars=tuple(exemplars), swaps=swaps, shipped=shipped)


@cache
def default_pack() -> Pack:
    from newsroom.paths import data_dir

    return load_pack(data_dir("knowledge"), shipped=True)
