"""The exceptions newsroom raises. Every message names the value and says what to do."""

from __future__ import annotations


class NewsroomError(Exception):
    """Base class for every error newsroom raises on purpose.

    The CLI turns these into one line on stderr and an exit code (``exit_code``); anything
    else escaping is a bug.
    """

    exit_code = 1


class ConfigError(NewsroomError):
    """Bad usage, input or configuration: the message says what to set or fix."""

    exit_code = 2


class ProviderError(NewsroomError):
    """The model provider failed, timed out, or returned output we could not use."""

    exit_code = 1

    def __init__(self, message: str, *, stage: str | None = None, retryable: bool = False) -> None:
        self.stage = stage
        self.retryable = retryable
        prefix = f"[{stage}] " if stage else ""
        super().__init__(prefix + message)


class BudgetExceeded(NewsroomError):
    """A run would spend, or has spent, more than its token or dollar budget."""

    exit_code = 3

    def __init__(self, message: str, *, spent_tokens: int = 0, spent_usd: float | None = None) -> None:
        self.spent_tokens = spent_tokens
        self.spent_usd = spent_usd
        super().__init__(message)


class StageError(NewsroomError):
    """A pipeline stage could not produce a usable result."""

    exit_code = 1

    def __init__(self, message: str, *, stage: str) -> None:
        self.stage = stage
        super().__init__(f"[{stage}] {message}")


class Cancelled(NewsroomError):
    """The run was cancelled (``runs cancel``, ``DELETE /v1/articles/{id}``); it stops at its next call."""

    exit_code = 3
