"""Feature flags, evaluated through the OpenFeature SDK.

The default provider layers, lowest first: the flag's default, ``[flags]`` in the workspace's
``newsroom.toml`` (or ``[tool.newsroom.flags]``), ``NEWSROOM_FLAG_<NAME>`` environment variables,
then ``--flag NAME=VALUE``. A value is ``on``/``off`` (or true/false/1/0) or a percentage such as
``"25%"``: a rollout keyed on the execution id, so one run sees one consistent value and the same
id always gets the same answer. An application may plug in its own OpenFeature provider.

Concurrent runs share no state: one ``NewsroomFlagProvider`` is registered (once) under the
``newsroom`` domain and reads each run's layers from that run's evaluation context; an
application's provider gets a domain of its own. Nothing swaps a registered provider per run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, FeatureProvider, Metadata

from newsroom.config import Settings
from newsroom.errors import ConfigError

DOMAIN = "newsroom"
# The evaluation-context attribute that carries a run's layers to the registered provider.
LAYERS_ATTRIBUTE = "newsroom.flag_layers"


@dataclass(frozen=True)
class FlagSpec:
    name: str
    default: bool
    on: str
    off: str


FLAGS: dict[str, FlagSpec] = {f.name: f for f in (
    FlagSpec("flow_engine", True, "stages run on a crewAI Flow",
             "the same stages run as a plain sequence (the rollback path)"),
    FlagSpec("style_memory", True, "the writer and editor retrieve rules and exemplars from Chroma",
             "no retrieval; prompts carry the static rules only"),
    FlagSpec("roi_telemetry", True, "ledger records are written", "metering runs but nothing is written"),
    FlagSpec("llm_review", True, "the editor agent reviews each draft", "deterministic gate only"),
    FlagSpec("budget_guard", True, "budgets stop a run before and after an overspending call",
             "budgets are not enforced"),
)}

_TRUE = {"on", "true", "1", "yes", "enabled"}
_FALSE = {"off", "false", "0", "no", "disabled"}


@dataclass(frozen=True)
class FlagValue:
    """A parsed setting: a fixed boolean or a rollout percentage."""

    enabled: bool | None = None
    percent: float | None = None

    def resolve(self, flag: str, key: str | None) -> tuple[bool, str]:
        if self.percent is None:
            return bool(self.enabled), Reason.STATIC
        if key is None:  # no execution to key on: only a full rollout is on
            return self.percent >= 100, Reason.DEFAULT
        digest = hashlib.sha256(f"{flag}:{key}".encode()).digest()
        bucket = int.from_bytes(digest[:4], "big") % 10_000
        return bucket < self.percent * 100, Reason.SPLIT


def parse_value(flag: str, raw: Any, source: str) -> FlagValue:
    if flag not in FLAGS:
        raise ConfigError(f"unknown flag {flag!r} in {source}; known flags: {', '.join(FLAGS)}")
    if isinstance(raw, bool):
        return FlagValue(enabled=raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return FlagValue(enabled=True)
    if text in _FALSE:
        return FlagValue(enabled=False)
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError:
            pct = -1.0
        if 0 <= pct <= 100:
            return FlagValue(percent=pct)
    raise ConfigError(f"flag {flag!r} has value {raw!r} in {source}; use on, off or a percentage like '25%'")


def parse_overrides(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Turn ``--flag NAME=VALUE`` options into a mapping, validating names and values."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--flag {pair!r} must look like NAME=VALUE, e.g. --flag llm_review=off")
        parse_value(name.strip(), value, "--flag")
        out[name.strip()] = value.strip()
    return out


Layers = dict[str, tuple[FlagValue, str]]


def settings_layers(settings: Settings, env: Mapping[str, str] | None = None) -> Layers:
    """Each flag that is set anywhere, with its winning value and layer (file < env < cli)."""
    env = os.environ if env is None else env
    layers: Layers = {}
    for name, raw in settings.flags.items():
        layers[name] = (parse_value(name, raw, "newsroom.toml [flags]"), "file")
    for var, raw in env.items():
        if var.startswith("NEWSROOM_FLAG_"):
            name = var.removeprefix("NEWSROOM_FLAG_").lower()
            layers[name] = (parse_value(name, raw, f"environment variable {var}"), "env")
    for name, raw in settings.flag_overrides.items():
        layers[name] = (parse_value(name, raw, "--flag"), "cli")
    return layers


def _as_attribute(layers: Layers) -> dict[str, dict[str, str | bool | float]]:
    """Layers in the shape an OpenFeature evaluation context carries (plain values only)."""
    out: dict[str, dict[str, str | bool | float]] = {}
    for name, (value, source) in layers.items():
        out[name] = {"source": source, **({"percent": value.percent} if value.percent is not None
                                          else {"enabled": bool(value.enabled)})}
    return out


def _from_attribute(entry: object) -> tuple[FlagValue, str] | None:
    if not isinstance(entry, Mapping):
        return None
    percent, enabled = entry.get("percent"), entry.get("enabled")
    value = (FlagValue(percent=float(percent)) if isinstance(percent, int | float)
             else FlagValue(enabled=enabled is True))
    return value, str(entry.get("source", "context"))


class NewsroomFlagProvider(AbstractProvider):
    """File < env < command line, as described in the module docstring.

    Built with ``settings``, it resolves those settings' layers. The instance that ``evaluate``
    registers is built without: it resolves the layers each run puts in its evaluation context.
    """

    def __init__(self, settings: Settings | None = None, env: Mapping[str, str] | None = None) -> None:
        self._layers = settings_layers(settings, env) if settings is not None else {}

    def _layer(self, flag_key: str, context: EvaluationContext | None) -> tuple[FlagValue, str] | None:
        carried = context.attributes.get(LAYERS_ATTRIBUTE) if context is not None else None
        if isinstance(carried, Mapping):
            return _from_attribute(carried.get(flag_key))
        return self._layers.get(flag_key)

    def get_metadata(self) -> Metadata:
        return Metadata(name="newsroom-settings")

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[bool]:
        if flag_key not in FLAGS:
            return FlagResolutionDetails(value=default_value, reason=Reason.ERROR,
                                         error_code=ErrorCode.FLAG_NOT_FOUND,
                                         error_message=f"unknown flag {flag_key!r}")
        layer = self._layer(flag_key, evaluation_context)
        if layer is None:
            return FlagResolutionDetails(value=FLAGS[flag_key].default, reason=Reason.DEFAULT,
                                         variant="default")
        value, source = layer
        key = evaluation_context.targeting_key if evaluation_context else None
        enabled, reason = value.resolve(flag_key, key)
        return FlagResolutionDetails(value=enabled, reason=reason, variant=source)

    # Every newsroom flag is boolean; other types are a caller's mistake, reported OpenFeature's way.
    def _mismatch(self, flag_key: str, default_value: Any) -> FlagResolutionDetails[Any]:
        return FlagResolutionDetails(value=default_value, reason=Reason.ERROR,
                                     error_code=ErrorCode.TYPE_MISMATCH,
                                     error_message=f"newsroom flag {flag_key!r} is boolean")

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[str]:
        return self._mismatch(flag_key, default_value)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[int]:
        return self._mismatch(flag_key, default_value)

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None
                              ) -> FlagResolutionDetails[float]:
        return self._mismatch(flag_key, default_value)

    def resolve_object_details(self, flag_key: str, default_value: Any,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[Any]:
        return self._mismatch(flag_key, default_value)


@dataclass(frozen=True)
class EvaluatedFlag:
    name: str
    value: bool
    reason: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "reason": self.reason, "source": self.source}


# The provider registered under DOMAIN holds no run's data (each run's layers travel in its
# evaluation context), so one immutable instance serves every run and thread.
_SHARED_PROVIDER = NewsroomFlagProvider()
_REGISTRATION = threading.Lock()


def _client_for(provider: FeatureProvider, domain: str) -> OpenFeatureClient:
    """A client for ``domain``, registering ``provider`` there first if it is not already.

    Registering is rare (first use, or after an application cleared OpenFeature's providers):
    re-registering a provider marks it not-ready until it is initialised again, so it is never
    done while it is in place."""
    client = api.get_client(domain)
    with _REGISTRATION:
        if client.provider is not provider:
            try:
                api.set_provider_and_wait(provider, domain=domain)
            except Exception as exc:
                name = provider.get_metadata().name
                raise ConfigError(f"flag provider {name!r} failed to initialise ({exc}); "
                                  "fix the provider passed as flag_provider") from exc
    return client


def evaluate(settings: Settings, execution_id: str | None = None,
             provider: FeatureProvider | None = None) -> dict[str, EvaluatedFlag]:
    """Every flag as it stands for this execution, through an OpenFeature client.

    Safe to call from many threads with different settings at once. An application's
    ``provider`` is registered under a domain of its own the first time it is seen (and
    initialised once); pass the same provider object for the application's lifetime."""
    if provider is None:
        layers = settings_layers(settings)
        client = _client_for(_SHARED_PROVIDER, DOMAIN)
        ctx = EvaluationContext(targeting_key=execution_id, attributes={LAYERS_ATTRIBUTE: _as_attribute(layers)})
    else:
        client = _client_for(provider, f"{DOMAIN}/app/{id(provider):x}")
        ctx = EvaluationContext(targeting_key=execution_id)
    out: dict[str, EvaluatedFlag] = {}
    for name, spec in FLAGS.items():
        details = client.get_boolean_details(name, spec.default, ctx)
        out[name] = EvaluatedFlag(name, bool(details.value), str(details.reason or ""),
                                  details.variant or "default")
    return out


def get(settings: Settings, name: str, execution_id: str | None = None) -> EvaluatedFlag:
    if name not in FLAGS:
        raise ConfigError(f"unknown flag {name!r}; known flags: {', '.join(FLAGS)}")
    return evaluate(settings, execution_id)[name]
