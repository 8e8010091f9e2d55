"""Load YAML into plain data plus a source map from each data path to its file:line:col."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .diagnostics import CompileError, Diagnostic, Location

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings (the schema checks their format)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded document sits in its file."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Iterable[str | int], *, key: bool = False) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        parts = tuple(path)
        table = self.keys if key else self.values
        while parts:
            if parts in table:
                return Location(self.file, *table[parts])
            if parts in self.values:
                return Location(self.file, *self.values[parts])
            parts = parts[:-1]
        line, col = self.values.get((), (1, 1))
        return Location(self.file, line, col)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; syntax errors and duplicate keys raise CompileError."""
    smap = SourceMap(file)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        raise CompileError(
            [Diagnostic(where, "error", "yaml-syntax", f"{exc.problem or 'invalid YAML'}")]
        ) from None
    finally:
        loader.dispose()
    if root is None:
        return None, smap
    errors: list[Diagnostic] = []

    def build(node: yaml.Node, path: Path) -> Any:
        smap.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            loader.flatten_mapping(node)  # resolve `<<` merge keys
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                key = key if isinstance(key, str) else str(key)
                if key in out:
                    errors.append(
                        Diagnostic(
                            Location(file, *_mark(key_node)),
                            "error",
                            "duplicate-key",
                            f"duplicate key `{key}`",
                            hint=f"first defined at line {smap.keys[(*path, key)][0]}",
                        )
                    )
                    continue
                smap.keys[(*path, key)] = _mark(key_node)
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    data = build(root, ())
    if errors:
        raise CompileError(errors)
    return data, smap
