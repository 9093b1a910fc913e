from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from newsroom.llm.schema import strict_schema


class Point(BaseModel):
    text: str
    weight: float = 1.0


class Section(BaseModel):
    heading: str = Field(title="Heading", default="Untitled")
    points: list[Point] = []
    note: str | None = None


class Outline(BaseModel):
    title: str
    sections: list[Section]
    tags: dict[str, int] = {}


def objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema (a node with properties) anywhere in the tree."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            found.append(node)
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    found.extend(objects(sub))
            else:
                found.extend(objects(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(objects(item))
    return found


def test_every_object_is_closed_with_all_properties_required() -> None:
    schema = strict_schema(Outline)
    closed = objects(schema)
    assert len(closed) == 3  # Outline, and Section and Point under $defs
    assert set(schema["$defs"]) == {"Section", "Point"}
    for node in closed:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])


def test_defaults_are_dropped_and_nested_defs_are_closed() -> None:
    schema = strict_schema(Outline)
    section = schema["$defs"]["Section"]
    assert section["required"] == ["heading", "points", "note"]
    assert "default" not in section["properties"]["heading"]
    assert "default" not in section["properties"]["points"]
    assert schema["$defs"]["Point"]["required"] == ["text", "weight"]


def test_the_pydantic_model_is_untouched() -> None:
    before = Outline.model_json_schema()
    strict_schema(Outline)
    assert Outline.model_json_schema() == before
    assert "additionalProperties" not in before


def test_free_form_maps_keep_their_value_schema() -> None:
    tags = strict_schema(Outline)["properties"]["tags"]
    assert tags["type"] == "object"
    assert tags["additionalProperties"] == {"type": "integer"}


class Awkward(BaseModel):
    default: str
    title: str
    type: str


def test_fields_named_like_schema_keywords_survive() -> None:
    schema = strict_schema(Awkward)
    assert set(schema["properties"]) == {"default", "title", "type"}
    assert schema["required"] == ["default", "title", "type"]
    assert schema["properties"]["default"] == {"type": "string"}
