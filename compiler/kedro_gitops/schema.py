"""Check loaded manifest data against the JSON Schema, reporting each error at its YAML location."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, did_you_mean
from .source import SourceMap

if TYPE_CHECKING:
    from jsonschema import ValidationError


@cache
def deploy_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("deploy.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _allowed_keys(schema: Any) -> list[str]:
    return sorted(schema.get("properties", {})) if isinstance(schema, dict) else []


def _flatten(error: ValidationError) -> list[ValidationError]:
    """Leaf errors: `if/then` and `anyOf` wrap the errors a user can act on."""
    if error.validator in ("allOf", "then") and error.context:
        return [leaf for sub in error.context for leaf in _flatten(sub)]
    return [error]


def _unknown_keys(error: ValidationError, smap: SourceMap) -> list[Diagnostic]:
    path, allowed = tuple(error.absolute_path), _allowed_keys(error.schema)
    instance: Any = error.instance
    where = "/".join(str(p) for p in path) or "manifest"
    return [
        Diagnostic(
            smap.at((*path, key), key=True),
            "error",
            "unknown-key",
            f"unknown key `{key}` in {where}",
            hint=did_you_mean(key, allowed),
        )
        for key in sorted(set(instance) - set(allowed))
    ]


_RANGE = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _describe(error: ValidationError, smap: SourceMap) -> list[Diagnostic]:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(error, smap)
    path = tuple(error.absolute_path)
    where = "/".join(str(p) for p in path) or "manifest"
    value: Any = error.validator_value
    schema: Any = error.schema
    described = schema.get("description", "") if isinstance(schema, dict) else ""
    if "propertyNames" in error.absolute_schema_path:  # a mapping key: `path` is the mapping's
        return [
            Diagnostic(
                smap.at((*path, str(error.instance)), key=True),
                "error",
                "invalid-name",
                f"{where}: invalid name {error.instance!r}",
                hint=described or "names may use letters, digits, `_`, `.` and `-`",
            )
        ]
    code, message, hint = "schema", f"{where}: {error.message}", ""
    if error.validator == "required":
        code = "missing-key"
    elif error.validator in ("enum", "const"):
        options = list(value) if error.validator == "enum" else [value]
        code, message = "invalid-value", f"{where}: {error.instance!r} is not allowed"
        hint = did_you_mean(str(error.instance), [str(o) for o in options])
    elif error.validator == "type":
        code, message = "wrong-type", f"{where}: expected {value}, got {error.instance!r}"
        if "integer" in value and isinstance(error.instance, float):
            hint = "write a whole number without a decimal point: `1`, not `1.0`"
    elif error.validator == "pattern":
        code = "invalid-format"
        message = f"{where}: {error.instance!r} is not in the expected format"
        hint = described
    elif error.validator in _RANGE:
        code, hint = "out-of-range", described
    elif error.validator in ("minLength", "maxLength"):
        code, hint = "invalid-length", described
    return [Diagnostic(smap.at(path), "error", code, message, hint=hint)]


def _is_integer(_checker: Any, instance: Any) -> bool:
    """An int, not a bool and not a float such as `1.0` (Airflow wants ints)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(_checker: Any, instance: Any) -> bool:
    """A finite int or float: `.inf` and `.nan` escape every numeric bound."""
    if isinstance(instance, float):
        return math.isfinite(instance)
    return _is_integer(_checker, instance)


def schema_problems(data: Any, smap: SourceMap) -> list[tuple[tuple[Any, ...], Diagnostic]]:
    """Every schema violation in `data`, located through `smap`, with the data path it is at."""
    import jsonschema  # imported when needed: a compile starts the project's interpreter first

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
    strict = jsonschema.validators.extend(base, type_checker=checker)  # type: ignore[no-untyped-call]
    validator = strict(deploy_schema())
    found: set[tuple[tuple[Any, ...], Diagnostic]] = set()
    for error in validator.iter_errors(data):
        for leaf in _flatten(error):
            found.update((tuple(leaf.absolute_path), d) for d in _describe(leaf, smap))
    return sorted(found, key=lambda item: item[1])


def check_schema(data: Any, smap: SourceMap) -> list[Diagnostic]:
    """Every schema violation in `data`, located through `smap`."""
    return sorted({d for _, d in schema_problems(data, smap)})
