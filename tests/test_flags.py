from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from newsroom import flags
from newsroom.config import Settings
from newsroom.errors import ConfigError

FLAG_NAMES = ["flow_engine", "style_memory", "roi_telemetry", "llm_review", "budget_guard"]


@pytest.fixture(autouse=True)
def _clean_openfeature() -> Iterator[None]:
    yield
    api.clear_providers()


def make_settings(workspace: Path, file: dict[str, Any] | None = None,
                  cli: tuple[str, ...] = ()) -> Settings:
    return Settings.load(workspace=workspace, flags=file, flag_overrides=flags.parse_overrides(cli) or None)


def test_the_five_flags_exist_and_default_on(workspace: Path) -> None:
    assert sorted(flags.FLAGS) == sorted(FLAG_NAMES)
    evaluated = flags.evaluate(Settings.load())
    assert list(evaluated) == list(flags.FLAGS)
    for name in FLAG_NAMES:
        f = evaluated[name]
        assert (f.name, f.value, f.source, f.reason) == (name, True, "default", "DEFAULT")
        assert flags.FLAGS[name].default is True


def test_as_dict_shape(workspace: Path) -> None:
    assert flags.get(Settings.load(), "llm_review").as_dict() == {
        "name": "llm_review", "value": True, "reason": "DEFAULT", "source": "default"}


# file < env < --flag, for every flag: each case lists the layers set (value per layer) and the winner.
SOURCE_CASES = {
    "file": ({"file": "off"}, False, "file"),
    "env": ({"env": "off"}, False, "env"),
    "cli": ({"cli": "off"}, False, "cli"),
    "env-beats-file": ({"file": "off", "env": "on"}, True, "env"),
    "cli-beats-env": ({"env": "off", "cli": "on"}, True, "cli"),
    "cli-beats-file": ({"file": "on", "cli": "off"}, False, "cli"),
    "cli-beats-all": ({"file": "on", "env": "on", "cli": "off"}, False, "cli"),
    "file-on": ({"file": True}, True, "file"),
}


@pytest.mark.parametrize("name", FLAG_NAMES)
@pytest.mark.parametrize("case", list(SOURCE_CASES))
def test_flag_source_matrix(workspace: Path, monkeypatch: pytest.MonkeyPatch, name: str, case: str) -> None:
    layers, expected_value, expected_source = SOURCE_CASES[case]
    if "env" in layers:
        monkeypatch.setenv(f"NEWSROOM_FLAG_{name.upper()}", str(layers["env"]))
    settings = make_settings(workspace, file={name: layers["file"]} if "file" in layers else None,
                             cli=(f"{name}={layers['cli']}",) if "cli" in layers else ())

    evaluated = flags.evaluate(settings)

    assert evaluated[name].value is expected_value
    assert evaluated[name].source == expected_source
    assert evaluated[name].reason == "STATIC"
    for other in set(FLAG_NAMES) - {name}:  # a layer for one flag leaves the others at their default
        assert (evaluated[other].value, evaluated[other].source) == (True, "default")


def test_flags_table_in_newsroom_toml(workspace: Path) -> None:
    (workspace / "newsroom.toml").write_text('[flags]\nllm_review = "off"\nbudget_guard = false\n')
    evaluated = flags.evaluate(Settings.load())
    assert evaluated["llm_review"].value is False
    assert evaluated["budget_guard"].value is False
    assert evaluated["flow_engine"].value is True


@pytest.mark.parametrize(("raw", "expected"), [
    ("on", True), ("off", False), ("true", True), ("false", False), ("1", True), ("0", False),
    ("yes", True), ("no", False), ("enabled", True), ("disabled", False), (" ON ", True), ("Off", False),
    (True, True), (False, False),
])
def test_boolean_spellings(raw: object, expected: bool) -> None:
    assert flags.parse_value("llm_review", raw, "test") == flags.FlagValue(enabled=expected)


def test_zero_percent_is_always_off_and_hundred_always_on(workspace: Path) -> None:
    off = make_settings(workspace, file={"llm_review": "0%"})
    on = make_settings(workspace, file={"llm_review": "100%"})
    off_provider, on_provider = flags.NewsroomFlagProvider(off), flags.NewsroomFlagProvider(on)
    for i in range(2000):
        ctx = EvaluationContext(targeting_key=f"run-{i}")
        assert off_provider.resolve_boolean_details("llm_review", True, ctx).value is False
        assert on_provider.resolve_boolean_details("llm_review", False, ctx).value is True
    assert flags.get(off, "llm_review", "run-1").value is False
    assert flags.get(on, "llm_review", "run-1").value is True
    assert flags.get(on, "llm_review", "run-1").reason == "SPLIT"


def test_rollout_without_an_execution_id_is_on_only_when_full(workspace: Path) -> None:
    assert flags.get(make_settings(workspace, file={"llm_review": "100%"}), "llm_review").value is True
    assert flags.get(make_settings(workspace, file={"llm_review": "99.9%"}), "llm_review").value is False


def test_fifty_percent_is_deterministic_per_execution_id_and_about_half(workspace: Path) -> None:
    settings = make_settings(workspace, file={"style_memory": "50%"})
    provider = flags.NewsroomFlagProvider(settings)
    ctx = [EvaluationContext(targeting_key=f"exec-{i:05d}") for i in range(2000)]

    first = [provider.resolve_boolean_details("style_memory", True, c).value for c in ctx]
    second = [provider.resolve_boolean_details("style_memory", True, c).value for c in ctx]

    assert first == second
    assert 0.40 <= sum(first) / len(first) <= 0.60
    # and the OpenFeature client path agrees with the provider for the same id
    for i in (0, 1, 2, 3, 1999):
        assert flags.get(settings, "style_memory", f"exec-{i:05d}").value is first[i]


def test_rollouts_of_different_flags_are_independent(workspace: Path) -> None:
    settings = make_settings(workspace, file={"style_memory": "50%", "llm_review": "50%"})
    provider = flags.NewsroomFlagProvider(settings)
    same = 0
    for i in range(1000):
        ctx = EvaluationContext(targeting_key=f"exec-{i}")
        same += (provider.resolve_boolean_details("style_memory", True, ctx).value
                 == provider.resolve_boolean_details("llm_review", True, ctx).value)
    assert 350 <= same <= 650


def test_unknown_flag_in_file(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="'nope'"):
        flags.evaluate(make_settings(workspace, file={"nope": "on"}))


def test_unknown_flag_in_env_names_the_variable(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSROOM_FLAG_NOPE", "on")
    with pytest.raises(ConfigError, match="NEWSROOM_FLAG_NOPE"):
        flags.evaluate(Settings.load())


def test_unknown_flag_on_the_command_line() -> None:
    with pytest.raises(ConfigError, match="'nope'"):
        flags.parse_overrides(["nope=on"])


def test_flag_override_needs_name_equals_value() -> None:
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        flags.parse_overrides(["llm_review"])


def test_parse_overrides_strips_and_collects() -> None:
    assert flags.parse_overrides(["llm_review = off", "budget_guard=25%"]) == {
        "llm_review": "off", "budget_guard": "25%"}


def test_get_unknown_flag(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="'nope'.*known flags"):
        flags.get(Settings.load(), "nope")


BAD_VALUES = ["maybe", "150%", "-5%", "abc%", "%", "", "2"]


@pytest.mark.parametrize("raw", BAD_VALUES)
@pytest.mark.parametrize("source", ["file", "env", "cli"])
def test_bad_values_are_config_errors(workspace: Path, monkeypatch: pytest.MonkeyPatch, raw: str,
                                      source: str) -> None:
    with pytest.raises(ConfigError, match="llm_review"):
        if source == "file":
            flags.evaluate(make_settings(workspace, file={"llm_review": raw}))
        elif source == "env":
            monkeypatch.setenv("NEWSROOM_FLAG_LLM_REVIEW", raw)
            flags.evaluate(Settings.load())
        else:
            flags.parse_overrides([f"llm_review={raw}"])


class AllOff(AbstractProvider):
    """An application's own OpenFeature provider: everything off."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    def get_metadata(self) -> Metadata:
        return Metadata(name="all-off")

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[bool]:
        self.seen.append((flag_key, evaluation_context.targeting_key if evaluation_context else None))
        return FlagResolutionDetails(value=False, reason=Reason.TARGETING_MATCH, variant="custom")

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[str]:
        return FlagResolutionDetails(value=default_value)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[int]:
        return FlagResolutionDetails(value=default_value)

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None
                              ) -> FlagResolutionDetails[float]:
        return FlagResolutionDetails(value=default_value)

    def resolve_object_details(self, flag_key: str, default_value: Any,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[Any]:
        return FlagResolutionDetails(value=default_value)


def test_a_custom_openfeature_provider_is_honoured(workspace: Path) -> None:
    custom = AllOff()
    evaluated = flags.evaluate(Settings.load(), "exec-42", provider=custom)
    assert {n: f.value for n, f in evaluated.items()} == dict.fromkeys(FLAG_NAMES, False)
    assert {f.source for f in evaluated.values()} == {"custom"}
    assert {f.reason for f in evaluated.values()} == {"TARGETING_MATCH"}
    assert sorted(custom.seen) == sorted((n, "exec-42") for n in FLAG_NAMES)


def test_evaluate_registers_the_default_provider_with_openfeature(workspace: Path) -> None:
    flags.evaluate(Settings.load())
    assert api.get_provider_metadata(domain=flags.DOMAIN).name == "newsroom-settings"


def test_the_default_provider_reports_non_boolean_lookups_openfeature_style(workspace: Path) -> None:
    provider = flags.NewsroomFlagProvider(Settings.load())
    details = provider.resolve_string_details("llm_review", "x")
    assert details.value == "x"
    assert details.error_code is not None
    unknown = provider.resolve_boolean_details("nope", True)
    assert unknown.value is True
    assert unknown.reason == Reason.ERROR


# -- concurrent runs ----------------------------------------------------------------------------
THREADS, EVALUATIONS = 8, 2000


def _pattern(i: int) -> dict[str, bool]:
    """Thread i's flag values: bits of 4i + 1, so every thread differs and every flag varies."""
    return {name: bool((4 * i + 1) >> bit & 1) for bit, name in enumerate(FLAG_NAMES)}


def _hammer(evaluate_for: Any) -> tuple[int, int]:
    """Run ``evaluate_for(i, n)`` EVALUATIONS times in each of THREADS threads at once; count the
    evaluations that returned another thread's values, and the evaluations done."""
    barrier = threading.Barrier(THREADS)
    crossings, done = [0] * THREADS, [0] * THREADS

    def work(i: int) -> None:
        expected = _pattern(i)
        barrier.wait()
        for n in range(EVALUATIONS):
            got = {name: f.value for name, f in evaluate_for(i, n).items()}
            crossings[i] += got != expected
            done[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(crossings), sum(done)


@pytest.mark.timeout(300)
def test_threads_with_different_overrides_never_see_each_others_values(workspace: Path) -> None:
    settings = [make_settings(workspace, cli=tuple(f"{k}={'on' if v else 'off'}" for k, v in _pattern(i).items()))
                for i in range(THREADS)]
    crossings, done = _hammer(lambda i, n: flags.evaluate(settings[i], f"run-{i}-{n}"))
    assert (crossings, done) == (0, THREADS * EVALUATIONS)


class Fixed(AllOff):
    """An application provider with fixed values (and no bookkeeping: it is shared by threads)."""

    def __init__(self, values: dict[str, bool]) -> None:
        super().__init__()
        self.values = values

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[bool]:
        return FlagResolutionDetails(value=self.values[flag_key], reason=Reason.STATIC, variant="app")


@pytest.mark.timeout(300)
def test_application_providers_and_the_default_provider_never_cross(workspace: Path) -> None:
    # Even threads bring their own provider object, odd threads use the settings: nobody swaps anything.
    providers = {i: Fixed(_pattern(i)) for i in range(0, THREADS, 2)}
    settings = {i: make_settings(workspace, cli=tuple(f"{k}={'on' if v else 'off'}" for k, v in _pattern(i).items()))
                for i in range(1, THREADS, 2)}

    def evaluate_for(i: int, n: int) -> dict[str, flags.EvaluatedFlag]:
        if i in providers:
            return flags.evaluate(Settings.load(), f"run-{i}-{n}", provider=providers[i])
        return flags.evaluate(settings[i], f"run-{i}-{n}")

    crossings, done = _hammer(evaluate_for)
    assert (crossings, done) == (0, THREADS * EVALUATIONS)


def test_evaluate_registers_its_provider_once_and_never_swaps_it(workspace: Path) -> None:
    # Swapping the registered provider per run is what made concurrent runs share values.
    flags.evaluate(make_settings(workspace, cli=("llm_review=off",)), "exec-1")
    registered = api.get_client(flags.DOMAIN).provider
    assert registered.get_metadata().name == "newsroom-settings"
    custom = AllOff()
    assert not flags.evaluate(Settings.load(), "exec-2", provider=custom)["llm_review"].value
    assert flags.evaluate(make_settings(workspace, cli=("budget_guard=off",)), "exec-3")["llm_review"].value
    assert api.get_client(flags.DOMAIN).provider is registered
    assert custom.seen  # the application's provider answered, without taking over the newsroom domain
