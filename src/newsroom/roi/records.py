"""The shape of ledger records. ``record.schema.json`` beside this file is their JSON Schema.

Field names follow the OpenTelemetry GenAI semantic conventions where one exists:

=====================  ==============================================
ledger field           OpenTelemetry GenAI attribute
=====================  ==============================================
provider               gen_ai.provider.name
model                  gen_ai.request.model
response_model         gen_ai.response.model
operation              gen_ai.operation.name
agent                  gen_ai.agent.name
input_tokens           gen_ai.usage.input_tokens (cached included)
cached_input_tokens    gen_ai.usage.cache_read.input_tokens
output_tokens          gen_ai.usage.output_tokens
finish_reason          gen_ai.response.finish_reasons[0]
response_id            gen_ai.response.id
error_type             error.type
execution_id, stage,   no convention; newsroom's own
attempt, cost_usd
=====================  ==============================================
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

_SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(api[_-]?key|authorization|x-api-key|bearer)([\"'=:\s]+)[^\s\"',}]+"),
]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def redact(text: str, secrets: tuple[str, ...] = (), *, patterns: bool = True) -> str:
    """Remove API keys from text bound for the ledger, logs or error messages.

    ``secrets`` are the configured keys, removed wherever they appear. ``patterns=True`` also
    removes anything shaped like a key (``sk-...``, ``api_key=...``, ``Bearer ...``): right for
    error messages, wrong for prose, where "bearer bonds" is not a credential.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    if not patterns:
        return text
    text = _SECRET_PATTERNS[0].sub("[REDACTED]", text)
    return _SECRET_PATTERNS[1].sub(r"\1\2[REDACTED]", text)


def call_record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "llm_call", "v": SCHEMA_VERSION, "ts": now_iso(),
                              "operation": "chat"}
    record.update(fields)
    return record


def run_record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "run", "v": SCHEMA_VERSION, "ts": now_iso()}
    record.update(fields)
    return record
