"""Validate JSON data against edgefer's own JSON Schemas on the device (stdlib only).

Why not the ``jsonschema`` package: the device side installs numpy, click and tqdm only, and
today's ``jsonschema`` pulls in ``referencing`` and ``rpds-py`` (a Rust extension) that a
Python 3.8 Jetson or a Pi may not find as a wheel. edgefer's schemas
(``manifest.schema.json``) use a small part of draft 2020-12, and this module implements
exactly that part: ``type``, ``const``, ``enum``, ``required``, ``properties``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``minimum``/``maximum``/
``exclusiveMinimum``, ``minLength``, ``pattern``, local ``$ref``, ``allOf``, ``oneOf``,
``not`` and ``if``/``then``. A keyword outside that set raises ``ValueError``, so a schema
cannot silently outgrow the validator; the tests check the schemas with ``jsonschema`` too.
"""

import re
from typing import Any, Dict, Optional

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default", "examples"}


def first_error(value: Any, schema: Dict[str, Any], root: Optional[Dict[str, Any]] = None,
                where: str = "") -> Optional[str]:
    """The first way ``value`` breaks ``schema``, as ``"FIELD: what was expected"``, or None."""
    root = schema if root is None else root
    for key, want in schema.items():
        check = _CHECKS.get(key)
        if check is None:
            if key in _ANNOTATIONS or key == "then":
                continue
            raise ValueError("schema keyword %r is not supported by edgefer.schema" % key)
        problem = check(value, want, schema, root, where)
        if problem:
            return problem
    return None


def _at(where, what):
    return "%s: %s" % (where or "(top level)", what)


def _type(v, want, schema, root, where):
    kinds = want if isinstance(want, list) else [want]
    if not any(_TYPES[k](v) for k in kinds):
        return _at(where, "expected %s, got %s" % (" or ".join(kinds), _json_type(v)))


def _json_type(v):
    return next((k for k in ("null", "boolean", "integer", "number", "string", "array", "object") if _TYPES[k](v)),
                type(v).__name__)


def _const(v, want, schema, root, where):
    if v != want or type(v) is not type(want):
        return _at(where, "expected %r, got %r" % (want, v))


def _enum(v, want, schema, root, where):
    if v not in want:
        return _at(where, "expected one of %s, got %r" % (", ".join(repr(w) for w in want), v))


def _required(v, want, schema, root, where):
    if isinstance(v, dict):
        missing = [k for k in want if k not in v]
        if missing:
            return _at(where, "missing %s" % ", ".join(repr(k) for k in missing))


def _properties(v, want, schema, root, where):
    if isinstance(v, dict):
        for k, sub in want.items():
            if k in v:
                problem = first_error(v[k], sub, root, _join(where, k))
                if problem:
                    return problem


def _additional(v, want, schema, root, where):
    if not isinstance(v, dict):
        return None
    known = schema.get("properties", {})
    for k in v:
        if k in known:
            continue
        if want is False:
            return _at(where, "unknown field %r" % k)
        if isinstance(want, dict):
            problem = first_error(v[k], want, root, _join(where, k))
            if problem:
                return problem


def _items(v, want, schema, root, where):
    if isinstance(v, list):
        for i, item in enumerate(v):
            problem = first_error(item, want, root, "%s[%d]" % (where, i))
            if problem:
                return problem


def _min_items(v, want, schema, root, where):
    if isinstance(v, list) and len(v) < want:
        return _at(where, "expected at least %d item(s), got %d" % (want, len(v)))


def _max_items(v, want, schema, root, where):
    if isinstance(v, list) and len(v) > want:
        return _at(where, "expected at most %d item(s), got %d" % (want, len(v)))


def _number(v):
    return _TYPES["number"](v)


def _minimum(v, want, schema, root, where):
    if _number(v) and v < want:
        return _at(where, "expected >= %s, got %s" % (want, v))


def _maximum(v, want, schema, root, where):
    if _number(v) and v > want:
        return _at(where, "expected <= %s, got %s" % (want, v))


def _exclusive_minimum(v, want, schema, root, where):
    if _number(v) and v <= want:
        return _at(where, "expected > %s, got %s" % (want, v))


def _min_length(v, want, schema, root, where):
    if isinstance(v, str) and len(v) < want:
        return _at(where, "expected at least %d character(s)" % want)


def _pattern(v, want, schema, root, where):
    if isinstance(v, str) and re.search(want, v) is None:
        return _at(where, "%r does not match %s" % (v, want))


def _ref(v, want, schema, root, where):
    if not want.startswith("#/"):
        raise ValueError("only local $ref are supported, got %r" % want)
    target = root
    for part in want[2:].split("/"):
        target = target[part]
    return first_error(v, target, root, where)


def _all_of(v, want, schema, root, where):
    for sub in want:
        problem = first_error(v, sub, root, where)
        if problem:
            return problem


def _one_of(v, want, schema, root, where):
    problems = [first_error(v, sub, root, where) for sub in want]
    passed = sum(p is None for p in problems)
    if passed != 1:
        return problems[0] if passed == 0 else _at(where, "matches more than one allowed form")


def _not(v, want, schema, root, where):
    if first_error(v, want, root, where) is None:
        return _at(where, "%r is not allowed here" % (v,))


def _if(v, want, schema, root, where):
    if first_error(v, want, root, where) is None and "then" in schema:
        return first_error(v, schema["then"], root, where)


def _join(where, key):
    return "%s.%s" % (where, key) if where else key


_CHECKS = {
    "type": _type, "const": _const, "enum": _enum, "required": _required, "properties": _properties,
    "additionalProperties": _additional, "items": _items, "minItems": _min_items, "maxItems": _max_items,
    "minimum": _minimum, "maximum": _maximum, "exclusiveMinimum": _exclusive_minimum, "minLength": _min_length,
    "pattern": _pattern, "$ref": _ref, "allOf": _all_of, "oneOf": _one_of, "not": _not, "if": _if,
}
