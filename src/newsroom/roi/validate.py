"""``record.schema.json`` compiled once into plain Python checks, for reading the ledger fast.

jsonschema's validator takes about 250 µs a record, so checking every line of a ledger of 100,000
calls would add half a minute to ``roi summary``; these closures take a few microseconds. They
cover exactly the keywords the schema uses, and a keyword they do not know is an error when the
schema is compiled, so the schema cannot gain a rule that reading silently ignores.
``tests/roi/test_validate.py`` checks that they agree with jsonschema on valid, broken and
fuzzed records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "$defs", "title", "description", "then", "else"}
# json.loads makes exactly these types (never subclasses), so ``type(x) in ...`` is exact, and bool is not int.
_PY_TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
                                          "null": (type(None),), "number": (int, float), "integer": (int,)}


def _always(_x: Any) -> bool:
    return True


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def every(x: Any) -> bool:
        for check in checks:
            if not check(x):
                return False
        return True

    return every


def _type(names: list[str]) -> Check:
    allowed = frozenset(t for name in names for t in _PY_TYPES[name])
    whole_floats = "integer" in names and "number" not in names  # JSON Schema: 1.0 is an integer
    return lambda x: type(x) in allowed or (whole_floats and type(x) is float and x.is_integer())


def _same(a: Any, b: Any) -> bool:
    """JSON equality for ``enum``/``const``: ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _number(x: Any) -> bool:
    return type(x) is int or type(x) is float


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = root.get("$defs", {})
        self.compiled: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#/$defs/") or pointer[8:] not in self.defs:
            raise ValueError(f"unsupported $ref {pointer!r}: only '#/$defs/<name>' is")
        name = pointer[8:]
        if name not in self.compiled:
            self.compiled[name] = lambda x: self.compiled[name](x)  # a placeholder for recursive refs
            self.compiled[name] = self.build(self.defs[name])
        return self.compiled[name]

    def build(self, node: dict[str, Any]) -> Check:
        return _all([self.keyword(key, value, node) for key, value in node.items() if key not in _IGNORED])

    def keyword(self, key: str, value: Any, node: dict[str, Any]) -> Check:  # noqa: C901 - one branch a keyword
        if key == "type":
            return _type([value] if isinstance(value, str) else value)
        if key == "enum":
            if all(type(v) is str for v in value):
                strings = frozenset(value)
                return lambda x: type(x) is str and x in strings
            return lambda x: any(_same(x, v) for v in value)
        if key == "const":
            return lambda x: _same(x, value)
        if key == "required":
            needed = frozenset(value)
            return lambda x: type(x) is not dict or needed <= x.keys()
        if key == "properties":
            return self.properties({name: self.build(sub) for name, sub in value.items()})
        if key == "additionalProperties":
            return self.additional(value, frozenset(node.get("properties", {})))
        if key in ("minimum", "maximum"):
            below = key == "minimum"
            return lambda x: not _number(x) or (x >= value if below else x <= value)
        if key in ("minLength", "maxLength"):
            shortest = key == "minLength"
            return lambda x: type(x) is not str or (len(x) >= value if shortest else len(x) <= value)
        if key == "pattern":
            regex = re.compile(value)
            return lambda x: type(x) is not str or regex.search(x) is not None
        if key == "allOf":
            return _all([self.build(sub) for sub in value])
        if key == "if":
            cond, then = self.build(value), self.build(node.get("then", {}))
            otherwise = self.build(node.get("else", {}))
            return lambda x: then(x) if cond(x) else otherwise(x)
        if key == "$ref":
            return self.ref(value)
        raise ValueError(f"the record schema uses {key!r}, which newsroom.roi.validate does not support; add it")

    @staticmethod
    def properties(props: dict[str, Check]) -> Check:
        def check(x: Any) -> bool:
            if type(x) is dict:
                for key, value in x.items():
                    sub = props.get(key)
                    if sub is not None and not sub(value):
                        return False
            return True

        return check

    def additional(self, value: Any, known: frozenset[str]) -> Check:
        if value is True:
            return _always
        if value is False:
            return lambda x: type(x) is not dict or x.keys() <= known
        sub = self.build(value)
        return lambda x: type(x) is not dict or all(sub(v) for k, v in x.items() if k not in known)


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function that is ``True`` for the instances ``schema`` accepts (the subset of keywords above)."""
    return _Compiler(schema).build(schema)


@cache
def record_check() -> Check:
    """The compiled ``record.schema.json``, built on first use."""
    text = resources.files("newsroom.roi").joinpath("record.schema.json").read_text(encoding="utf-8")
    return compile_schema(json.loads(text))
