"""JSON Schema helpers for structured output."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel


def strict_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema in the strict form OpenAI and llama.cpp grammars accept.

    Every object closes (``additionalProperties: false``) and lists all its properties as
    required, so constrained decoding can never stop half-way through an object.
    """
    schema = copy.deepcopy(output_type.model_json_schema())
    _close(schema)
    for sub in schema.get("$defs", {}).values():
        _close(sub)
    return schema


def _close(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        node.pop("default", None)
        node.pop("title", None) if isinstance(node.get("title"), str) and "type" in node else None
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                # A map of field names, not a schema: a field may be called "default" or "title".
                for sub in value.values():
                    _close(sub)
            elif key != "$defs":
                _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)
