"""Cost from a dated price table shipped in the package. Unknown models cost ``None``, never 0."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from newsroom.usage import Usage

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    output: float
    cached_input: float | None = None

    def cost(self, usage: Usage) -> float:
        cached_rate = self.input if self.cached_input is None else self.cached_input
        fresh = usage.input_tokens - usage.cached_input_tokens
        total = fresh * self.input + usage.cached_input_tokens * cached_rate + usage.output_tokens * self.output
        return round(total / 1_000_000, 10)


@cache
def price_table() -> dict[str, Any]:
    text = resources.files("newsroom.roi").joinpath("prices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class PriceBook:
    """Looks a model up in the shipped table plus user prices; exact name, then without a date suffix."""

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        table = {k: Price(**v) for k, v in price_table()["models"].items()}
        for name, p in (extra or {}).items():
            fields = p.model_dump() if hasattr(p, "model_dump") else dict(p)
            table[name.lower()] = Price(**fields)  # lookup() lower-cases the model name
        self._table = table

    def lookup(self, model: str) -> Price | None:
        name = model.split("/")[-1].lower()
        if name in self._table:
            return self._table[name]
        return self._table.get(_DATE_SUFFIX.sub("", name))

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.lookup(model)
        return None if price is None else price.cost(usage)
