from __future__ import annotations

from pathlib import Path

import pytest

from newsroom.config import DEFAULT_MODELS, PROVIDERS, Settings
from newsroom.errors import ConfigError


def write_toml(workspace: Path, text: str) -> Path:
    path = workspace / "newsroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_in_an_empty_workspace(workspace: Path) -> None:
    s = Settings.load()
    assert s.workspace == workspace.resolve()
    assert s.provider == "local"
    assert s.model is None
    assert s.model_name == DEFAULT_MODELS["local"]
    assert s.max_retries == 3
    assert s.budget_usd is None and s.budget_tokens is None
    assert s.flags == {} and s.flag_overrides == {} and s.prices == {}
    assert s.ledger_path == workspace.resolve() / "logs" / "execution_roi.jsonl"


@pytest.mark.parametrize(("field", "env_name", "file_value", "env_value", "explicit", "default"), [
    ("model", "NEWSROOM_MODEL", '"file-model"', "env-model", "explicit-model", None),
    ("max_retries", "NEWSROOM_MAX_RETRIES", "5", "6", 7, 3),
    ("timeout_s", "NEWSROOM_TIMEOUT_S", "10.5", "20.5", 30.5, None),
    ("budget_tokens", "NEWSROOM_BUDGET_TOKENS", "1000", "2000", 3000, None),
])
@pytest.mark.parametrize("layers", ["none", "file", "file+env", "file+env+explicit", "env+explicit"])
def test_precedence_explicit_over_env_over_file_over_default(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, layers: str, field: str, env_name: str,
        file_value: str, env_value: str, explicit: object, default: object) -> None:
    explicit_kwargs: dict[str, object] = {}
    if "file" in layers:
        write_toml(workspace, f"{field} = {file_value}\n")
    if "env" in layers:
        monkeypatch.setenv(env_name, env_value)
    if "explicit" in layers:
        explicit_kwargs[field] = explicit

    value = getattr(Settings.load(**explicit_kwargs), field)

    expected = {
        "none": default,
        "file": type(explicit)(file_value.strip('"')),
        "file+env": type(explicit)(env_value),
        "file+env+explicit": explicit,
        "env+explicit": explicit,
    }[layers]
    assert value == expected


def test_explicit_none_means_unset(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSROOM_MODEL", "env-model")
    assert Settings.load(model=None).model == "env-model"


def test_an_env_mapping_can_be_passed_instead_of_os_environ(workspace: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSROOM_MODEL", "ignored")
    assert Settings.load(env={"NEWSROOM_MODEL": "from-mapping"}).model == "from-mapping"


def test_tool_newsroom_table_form(workspace: Path) -> None:
    write_toml(workspace, '[tool.newsroom]\nprovider = "openai"\nmodel = "gpt-4o"\n'
                          '[tool.newsroom.flags]\nllm_review = "off"\n')
    s = Settings.load()
    assert (s.provider, s.model) == ("openai", "gpt-4o")
    assert s.flags == {"llm_review": "off"}


def test_top_level_form_with_flags_and_prices(workspace: Path) -> None:
    write_toml(workspace, 'provider = "scripted"\n[flags]\nstyle_memory = false\n'
                          '[prices.my-model]\ninput = 1.5\noutput = 3.0\n')
    s = Settings.load()
    assert s.provider == "scripted"
    assert s.flags == {"style_memory": False}
    assert s.prices["my-model"].input == 1.5
    assert s.prices["my-model"].output == 3.0
    assert s.prices["my-model"].cached_input is None


def test_newsroom_workspace_env_selects_the_workspace_and_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    write_toml(other, 'model = "from-elsewhere"\n')
    monkeypatch.setenv("NEWSROOM_WORKSPACE", str(other))
    s = Settings.load()
    assert s.workspace == other.resolve()
    assert s.model == "from-elsewhere"
    assert s.ledger_path == other.resolve() / "logs" / "execution_roi.jsonl"


def test_malformed_toml_names_the_file(workspace: Path) -> None:
    path = write_toml(workspace, "provider = \n[[[\n")
    with pytest.raises(ConfigError) as info:
        Settings.load()
    assert str(path) in str(info.value)
    assert "not valid TOML" in str(info.value)


def test_unknown_key_is_named(workspace: Path) -> None:
    write_toml(workspace, 'provder = "openai"\n')
    with pytest.raises(ConfigError, match="'provder'"):
        Settings.load()


def test_api_keys_are_not_accepted_in_the_file(workspace: Path) -> None:
    write_toml(workspace, 'api_key = "sk-in-a-file-12345678"\n')
    with pytest.raises(ConfigError, match="'api_key'"):
        Settings.load()


@pytest.mark.parametrize(("toml", "field"), [
    ("max_retries = -1\n", "max_retries"),
    ("max_retries = 99\n", "max_retries"),
    ("timeout_s = 0\n", "timeout_s"),
    ('budget_usd = "lots"\n', "budget_usd"),
    ("local_n_ctx = 16\n", "local_n_ctx"),
])
def test_invalid_value_in_the_file_names_the_setting(workspace: Path, toml: str, field: str) -> None:
    write_toml(workspace, toml)
    with pytest.raises(ConfigError, match=repr(field)):
        Settings.load()


def test_invalid_value_in_env_names_the_setting(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSROOM_MAX_RETRIES", "many")
    with pytest.raises(ConfigError, match="'max_retries' = 'many'"):
        Settings.load()


def test_invalid_explicit_value(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="'budget_tokens'"):
        Settings.load(budget_tokens=-5)


@pytest.mark.parametrize("source", ["explicit", "env", "file"])
def test_unknown_provider_lists_the_choices(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                            source: str) -> None:
    kwargs = {}
    if source == "explicit":
        kwargs["provider"] = "foo"
    elif source == "env":
        monkeypatch.setenv("NEWSROOM_PROVIDER", "foo")
    else:
        write_toml(workspace, 'provider = "foo"\n')
    with pytest.raises(ConfigError) as info:
        Settings.load(**kwargs)
    message = str(info.value)
    assert "'foo'" in message
    for choice in PROVIDERS:
        assert choice in message


def test_api_key_never_appears_in_repr_or_str(workspace: Path) -> None:
    secret = "sk-supersecret-abcdef1234567890"
    s = Settings.load(provider="openai", api_key=secret)
    assert secret not in repr(s)
    assert secret not in str(s)
    assert secret not in s.model_dump_json()
    assert s.secret() == secret


def test_secret_falls_back_to_the_provider_env_var(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert Settings.load(provider="anthropic").secret() == "ak-from-env"
    assert Settings.load(provider="openai").secret() == "sk-from-env"
    assert Settings.load(provider="local").secret() is None


def test_settings_are_frozen(settings: Settings) -> None:
    with pytest.raises(ValueError, match="frozen"):
        settings.provider = "openai"  # type: ignore[misc]


def test_call_timeout_defaults_by_provider(workspace: Path) -> None:
    assert Settings.load().call_timeout_s == 600.0
    assert Settings.load(provider="openai").call_timeout_s == 120.0
    assert Settings.load(provider="openai", timeout_s=5).call_timeout_s == 5


@pytest.mark.parametrize("toml", [
    "tool = 5\n",
    'tool = "newsroom"\n',
    "tool = [1, 2]\n",
    "[tool]\nnewsroom = 5\n",
    'tool = {newsroom = ["provider"]}\n',
    "flags = 5\n",
    "flags = [1, 2]\n",
    "prices = 5\n",
    "prices = {m = 5}\n",
    "[tool.newsroom]\nflags = 5\n",
    '[tool.newsroom]\nprices = {m = "free"}\n',
])
def test_a_wrong_shape_is_a_config_error_naming_the_file(workspace: Path, toml: str) -> None:
    path = write_toml(workspace, toml)
    with pytest.raises(ConfigError) as info:
        Settings.load()
    assert str(path) in str(info.value)


def test_a_non_table_tool_exits_2_with_a_message_that_says_what_to_do(workspace: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from newsroom.cli import main

    path = write_toml(workspace, "tool = 5\n")
    with pytest.raises(SystemExit) as info:
        main(["flags", "list"])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert f"{path}: 'tool' must be a table such as [tool.newsroom], not 5" in err and "unexpected" not in err
