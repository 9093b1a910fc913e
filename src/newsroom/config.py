"""Settings: one frozen object, resolved once, passed down.

Precedence, highest first: explicit argument > ``NEWSROOM_*`` environment variable >
``<workspace>/newsroom.toml`` > default. A missing or malformed piece raises ``ConfigError``
that says what to set.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from newsroom.errors import ConfigError
from newsroom.safeio import read_text_file

Provider = Literal["local", "openai", "anthropic", "scripted"]
PROVIDERS: tuple[str, ...] = ("local", "openai", "anthropic", "scripted")
CONFIG_FILE = "newsroom.toml"
CONFIG_MAX_BYTES = 1_000_000

DEFAULT_MODELS: dict[str, str] = {
    "local": "qwen2.5-coder-1.5b",  # the catalogue's default (a test keeps them equal)
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "scripted": "scripted",
}
KEY_ENV: dict[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


class Price(BaseModel):
    """A user-supplied price in USD per million tokens (e.g. for a self-hosted model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class Settings(BaseModel):
    """Everything a run needs to know, resolved once (see module docstring for precedence)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: Path = Field(default_factory=Path.cwd)
    provider: Provider = "local"
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, repr=False)
    timeout_s: float | None = Field(default=None, gt=0, description="per call; default 600 local, 120 remote")
    max_retries: int = Field(default=3, ge=0, le=10)
    budget_usd: float | None = Field(default=None, ge=0)
    budget_tokens: int | None = Field(default=None, ge=0)
    max_revisions: int | None = Field(default=None, ge=0, le=10, description="default: the flow's")
    crews_dir: Path | None = None
    flows_dir: Path | None = None
    knowledge_dir: Path | None = None
    chroma_url: str | None = None
    style_timeout_ms: int = Field(default=500, gt=0)
    local_n_ctx: int = Field(default=4096, ge=512, description="context per parallel slot")
    local_parallel: int = Field(default=2, ge=1, le=32)
    local_threads: int | None = Field(default=None, ge=1)
    models_dir: Path | None = Field(default=None, description="where pulled local models live")
    database_url: str | None = Field(default=None, repr=False,
                                     description="sqlite:///... or postgresql://...; default: the workspace's SQLite")
    rate_limit_rpm: int | None = Field(default=None, ge=1, description="client-side requests per minute")
    rate_limit_tpm: int | None = Field(default=None, ge=1, description="client-side prompt tokens per minute")
    flags: dict[str, Any] = Field(default_factory=dict, description="flag values from newsroom.toml")
    flag_overrides: dict[str, str] = Field(default_factory=dict, description="--flag NAME=VALUE")
    prices: dict[str, Price] = Field(default_factory=dict, description="extra per-model prices")

    @property
    def model_name(self) -> str:
        """The model the ledger names: for ``local``, the catalogue name or the GGUF file's stem."""
        name = self.model or DEFAULT_MODELS[self.provider]
        if self.provider == "local" and (name.endswith(".gguf") or os.sep in name):
            return Path(name).expanduser().stem
        return name

    @property
    def call_timeout_s(self) -> float:
        """A local model on a busy CPU is slow, not broken: it gets longer than a remote API."""
        if self.timeout_s is not None:
            return self.timeout_s
        return 600.0 if self.provider == "local" else 120.0

    @property
    def ledger_path(self) -> Path:
        return self.workspace / "logs" / "execution_roi.jsonl"

    @property
    def db_url(self) -> str:
        """The database every run, worker and ``roi`` command of this workspace uses."""
        from newsroom.store import default_url

        return self.database_url or default_url(self.workspace)

    @property
    def embedded(self) -> bool:
        """True on the default (a SQLite file), where the ledger is also mirrored to the JSONL file."""
        return self.db_url.startswith("sqlite:")

    @property
    def state_dir(self) -> Path:
        return self.workspace / ".newsroom"

    def secret(self) -> str | None:
        """The API key for a remote provider, from the explicit setting or its env var."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        env = KEY_ENV.get(self.provider)
        return os.environ.get(env) if env else None

    @classmethod
    def load(cls, *, workspace: Path | str | None = None, env: Mapping[str, str] | None = None,
             **explicit: Any) -> Settings:
        """Resolve settings from file, environment and explicit arguments (``None`` = unset)."""
        env = os.environ if env is None else env
        ws = Path(workspace or env.get("NEWSROOM_WORKSPACE") or Path.cwd()).expanduser().resolve()
        values: dict[str, Any] = _read_file(ws / CONFIG_FILE)
        values.update(_read_env(env))
        values.update({k: v for k, v in explicit.items() if v is not None})
        values["workspace"] = ws
        return build(values, source=str(ws / CONFIG_FILE))


def build(values: dict[str, Any], *, source: str) -> Settings:
    """Validate raw values into ``Settings``, turning pydantic's report into one clear line."""
    provider = values.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise ConfigError(
            f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)} "
            "(--provider or NEWSROOM_PROVIDER)"
        )
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "?"
        raise ConfigError(
            f"invalid setting {field!r} = {err.get('input')!r}: {err['msg']} (from {source}, "
            "NEWSROOM_* environment or command-line options)"
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    text = read_text_file(path, limit=CONFIG_MAX_BYTES, what="settings file", hint="fix or remove the file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove the file") from None
    table = _settings_table(data, path)
    known = set(Settings.model_fields) - {"workspace", "flag_overrides", "api_key"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(known))}"
        )
    return dict(table)


def _settings_table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The settings in a parsed file: a pyproject-style [tool.newsroom] table, or the top level."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table such as [tool.newsroom], not {tool!r}; "
                          "put the settings at the top level or under [tool.newsroom]")
    table = tool.get("newsroom", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.newsroom] must be a table of settings, not {table!r}; "
                          "write it as a [tool.newsroom] section")
    return {k: v for k, v in table.items() if k != "tool"}


_ENV_FIELDS = {
    "provider": "NEWSROOM_PROVIDER",
    "model": "NEWSROOM_MODEL",
    "base_url": "NEWSROOM_BASE_URL",
    "timeout_s": "NEWSROOM_TIMEOUT_S",
    "max_retries": "NEWSROOM_MAX_RETRIES",
    "budget_usd": "NEWSROOM_BUDGET_USD",
    "budget_tokens": "NEWSROOM_BUDGET_TOKENS",
    "max_revisions": "NEWSROOM_MAX_REVISIONS",
    "crews_dir": "NEWSROOM_CREWS",
    "flows_dir": "NEWSROOM_FLOWS",
    "knowledge_dir": "NEWSROOM_KNOWLEDGE",
    "chroma_url": "NEWSROOM_CHROMA_URL",
    "style_timeout_ms": "NEWSROOM_STYLE_TIMEOUT_MS",
    "local_n_ctx": "NEWSROOM_LOCAL_N_CTX",
    "local_parallel": "NEWSROOM_LOCAL_PARALLEL",
    "local_threads": "NEWSROOM_LOCAL_THREADS",
    "models_dir": "NEWSROOM_MODELS_DIR",
    "database_url": "NEWSROOM_DATABASE_URL",
    "rate_limit_rpm": "NEWSROOM_RATE_LIMIT_RPM",
    "rate_limit_tpm": "NEWSROOM_RATE_LIMIT_TPM",
}


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {field: env[name] for field, name in _ENV_FIELDS.items() if env.get(name)}
