from __future__ import annotations

import pytest

from newsroom.errors import BudgetExceeded, ConfigError, NewsroomError, ProviderError, StageError


@pytest.mark.parametrize(("exc", "code"), [
    (ConfigError("bad"), 2),
    (ProviderError("down"), 1),
    (BudgetExceeded("over"), 3),
    (StageError("broken", stage="draft"), 1),
])
def test_every_error_is_a_newsroom_error_with_its_exit_code(exc: NewsroomError, code: int) -> None:
    assert isinstance(exc, NewsroomError)
    assert exc.exit_code == code


def test_provider_error_prefixes_the_stage_and_defaults_to_not_retryable() -> None:
    exc = ProviderError("timed out", stage="draft")
    assert str(exc) == "[draft] timed out"
    assert exc.stage == "draft"
    assert exc.retryable is False
    assert ProviderError("x", retryable=True).retryable is True


def test_provider_error_without_a_stage_has_no_prefix() -> None:
    exc = ProviderError("timed out")
    assert str(exc) == "timed out"
    assert exc.stage is None


def test_stage_error_requires_and_names_its_stage() -> None:
    exc = StageError("no outline", stage="editorial")
    assert str(exc) == "[editorial] no outline"
    assert exc.stage == "editorial"
    with pytest.raises(TypeError):
        StageError("no stage")  # type: ignore[call-arg]


def test_budget_exceeded_carries_what_was_spent() -> None:
    exc = BudgetExceeded("over budget", spent_tokens=1200, spent_usd=0.25)
    assert (exc.spent_tokens, exc.spent_usd) == (1200, 0.25)
    assert str(exc) == "over budget"
    assert BudgetExceeded("x").spent_usd is None
