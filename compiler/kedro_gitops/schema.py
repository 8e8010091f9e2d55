"""Check loaded manifest data against the JSON Schema, reporting each error at its YAML location."""

from __future__ import annotations

import json
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


def _describe(error: ValidationError, smap: SourceMap) -> list[Diagnostic]:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(error, smap)
    path = tuple(error.absolute_path)
    where = "/".join(str(p) for p in path) or "manifest"
    value: Any = error.validator_value
    schema: Any = error.schema
    code, message, hint = "schema", f"{where}: {error.message}", ""
    if error.validator == "required":
        code = "missing-key"
    elif error.validator in ("enum", "const"):
        options = list(value) if error.validator == "enum" else [value]
        code, message = "invalid-value", f"{where}: {error.instance!r} is not allowed"
        hint = did_you_mean(str(error.instance), [str(o) for o in options])
    elif error.validator == "type":
        code, message = "wrong-type", f"{where}: expected {value}, got {error.instance!r}"
    elif error.validator == "propertyNames":
        code, hint = "invalid-name", "names may use letters, digits, `_`, `.` and `-`"
    elif error.validator == "pattern":
        code = "invalid-format"
        message = f"{where}: {error.instance!r} is not in the expected format"
        hint = schema.get("description", "") if isinstance(schema, dict) else ""
    return [Diagnostic(smap.at(path), "error", code, message, hint=hint)]


def check_schema(data: Any, smap: SourceMap) -> list[Diagnostic]:
    """Every schema violation in `data`, located through `smap`."""
    import jsonschema  # imported when needed: a compile starts the project's interpreter first

    validator = jsonschema.Draft202012Validator(deploy_schema())
    found: set[Diagnostic] = set()
    for error in validator.iter_errors(data):
        for leaf in _flatten(error):
            found.update(_describe(leaf, smap))
    return sorted(found)
