"""Token usage: the record that providers report and prices turn into cost.

It lives here, beside neither ``llm/`` nor ``roi/``, so that both can import it without importing
each other (``roi/`` never imports ``llm/``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Provider-reported token usage. ``input_tokens`` counts every prompt token, cached included."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
        )
