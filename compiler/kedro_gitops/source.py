"""Load YAML into plain data plus a source map from each data path to its file:line:col.

Only plain data comes out: strings, integers, finite floats, booleans, null, lists and mappings
with string keys. Anything else a YAML file can express (explicit tags for other types, keys that
are collections, recursive aliases, non-finite floats, NUL or lone surrogates in strings) is a
located diagnostic, and so is a document that is too deep or, with aliases expanded, too large.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

from .diagnostics import CompileError, Diagnostic, Location, escape

Path = tuple[str | int, ...]

MAX_DEPTH = 100  # levels of nesting (a manifest has fewer than ten)
MAX_NODES = 100_000  # values and keys, aliases expanded (a manifest has a few thousand)
MAX_INT_DIGITS = 4300  # Python's default limit for converting integers to and from text

_TAG = "tag:yaml.org,2002:"
_MAP, _SEQ, _INT, _MERGE = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}int", f"{_TAG}merge"
_INT_LIMIT = 10**MAX_INT_DIGITS
_INVALID = object()  # a value that was reported and is left out
_BAD_CHARACTER = re.compile("[\0\ud800-\udfff]")  # NUL and lone surrogates
_TOO_LONG = f"the integer has more than {MAX_INT_DIGITS:,} digits"


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps (the schema checks their format) and `=` as strings,
    and refuses to compose deeper than MAX_DEPTH (the composer recurses once per level)."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in (f"{_TAG}timestamp", f"{_TAG}value")
    ]
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


def _tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _fail(where: Location, code: str, message: str, hint: str = "") -> NoReturn:
    raise CompileError([Diagnostic(where, "error", code, message, hint=hint)])


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data; every problem with it raises CompileError."""
    root = _compose(text, file)
    smap = SourceMap(file)
    if root is None:
        return None, smap
    builder = _Builder(smap)
    data = builder.build(root, (), 1)
    if builder.errors:
        raise CompileError(builder.errors)
    return data, smap


def _compose(text: str, file: str) -> yaml.Node | None:
    """The document's node graph (aliases are shared nodes, possibly cycles)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # checks every character of the text
        return loader.get_single_node()
    except (_TooDeep, RecursionError) as exc:
        mark = exc.mark if isinstance(exc, _TooDeep) else loader.get_mark() if loader else None
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        _fail(
            where,
            "yaml-too-deep",
            f"more than {MAX_DEPTH} levels of nesting",
            hint="a manifest needs only a few levels",
        )
    except yaml.reader.ReaderError as exc:
        position = exc.position if isinstance(exc.position, int) else 0
        lines = text[:position].split("\n")
        character = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        _fail(
            Location(file, len(lines), len(lines[-1]) + 1),
            "yaml-bad-character",
            f"the character `{escape(character)}` is not allowed in a YAML file",
            hint="remove it: YAML allows no control characters besides tabs and line breaks",
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        if exc.context == "expected a single document in the stream":
            _fail(
                where,
                "yaml-multiple-documents",
                "the manifest has more than one YAML document",
                hint="remove this `---` and what follows, or merge the documents into one",
            )
        _fail(where, "yaml-syntax", exc.problem or exc.context or "invalid YAML")
    except yaml.YAMLError as exc:
        _fail(Location(file), "yaml-syntax", str(exc) or "invalid YAML")
    finally:
        if loader is not None:
            loader.dispose()


class _Builder:
    """Turns a node graph into plain data, recording where each value came from.

    Aliases expand: a node is built once per path that reaches it, and each of those counts
    towards MAX_NODES. Problems with single values are collected; limits stop at once.
    """

    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.constructor = yaml.constructor.SafeConstructor()
        self.errors: list[Diagnostic] = []
        self.nodes = 0
        self.open: set[int] = set()  # the collections on the path being built (a cycle check)
        self.scalars: dict[int, Any] = {}  # each scalar node's value, checked once

    def where(self, node: yaml.Node) -> Location:
        return Location(self.smap.file, *_mark(node))

    def error(self, node: yaml.Node, code: str, message: str, hint: str = "") -> None:
        self.errors.append(Diagnostic(self.where(node), "error", code, message, hint=hint))

    def visit(self, node: yaml.Node, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            _fail(
                self.where(node),
                "yaml-too-large",
                f"the manifest has more than {MAX_NODES:,} values once its aliases are expanded",
                hint="aliases (`*name`) repeat what their anchor holds; use fewer of them",
            )
        if depth > MAX_DEPTH:
            _fail(
                self.where(node),
                "yaml-too-deep",
                f"more than {MAX_DEPTH} levels of nesting once aliases are expanded",
                hint="a manifest needs only a few levels",
            )

    def enter(self, node: yaml.Node) -> None:
        if id(node) in self.open:
            _fail(
                self.where(node),
                "yaml-recursive-alias",
                "this anchor's value contains an alias to itself",
                hint="an alias (`*name`) may only refer to an anchor outside its own value",
            )
        self.open.add(id(node))

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.visit(node, depth)
        self.smap.values[path] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
            return None if value is _INVALID else value
        if node.tag not in (_MAP, _SEQ):
            kind = "mapping" if isinstance(node, yaml.MappingNode) else "list"
            self.error(
                node,
                "yaml-tag",
                f"the tag `{escape(_tag(node.tag))}` is not allowed",
                hint=f"remove the tag to write a plain {kind}",
            )
            return None
        self.enter(node)
        out: dict[str, Any] | list[Any]
        if isinstance(node, yaml.MappingNode):
            items = self.items(node, depth)
            self.smap.keys.update(((*path, key), _mark(k)) for key, (k, _) in items.items())
            out = {key: self.build(v, (*path, key), depth + 1) for key, (_, v) in items.items()}
        else:
            out = [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        self.open.discard(id(node))
        return out

    def items(self, node: yaml.MappingNode, depth: int) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The mapping's keys and value nodes, `<<` merge keys resolved: the mapping's own keys
        win over merged ones, and earlier merged mappings over later ones."""
        own: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        sources: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else None
                sources.extend(merged if merged is not None else [value_node])
                continue
            key = self.key(key_node, depth + 1)
            if key is None:
                continue
            if key in own:
                first = own[key][0].start_mark.line + 1
                self.error(
                    key_node,
                    "duplicate-key",
                    f"duplicate key `{escape(key)}`",
                    hint=f"first defined at line {first}",
                )
                continue
            own[key] = (key_node, value_node)
        merged_items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for source in sources:
            self.visit(source, depth + 1)
            if not isinstance(source, yaml.MappingNode):
                self.error(
                    source,
                    "yaml-merge",
                    "a merge key `<<` takes a mapping or a list of mappings",
                    hint="merge an anchored mapping: `<<: *name` or `<<: [*one, *two]`",
                )
                continue
            self.enter(source)
            for key, pair in self.items(source, depth + 1).items():
                merged_items.setdefault(key, pair)
            self.open.discard(id(source))
        return {**merged_items, **own} if merged_items else own

    def key(self, node: yaml.Node, depth: int) -> str | None:
        """A mapping key as a string (numbers, booleans and null are written as text)."""
        self.visit(node, depth)
        if not isinstance(node, yaml.ScalarNode):
            self.error(
                node,
                "yaml-complex-key",
                "a mapping key must be a string, not a list or mapping",
                hint="remove the `?` and write the key as text",
            )
            return None
        value = self.scalar(node)
        return None if value is _INVALID else value if isinstance(value, str) else str(value)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """The scalar's value, or _INVALID once the reason it cannot be used is reported."""
        if id(node) not in self.scalars:
            value = self.construct(node)
            problem = None if value is _INVALID else _problem(value, node)
            if problem is not None:
                self.error(node, *problem)
                value = _INVALID
            self.scalars[id(node)] = value
        return self.scalars[id(node)]

    def construct(self, node: yaml.ScalarNode) -> Any:
        tag = escape(_tag(node.tag))
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # constructors for explicit tags fail in many ways on bad text
            if node.tag == _INT and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
                self.error(node, "yaml-int-too-long", _TOO_LONG)
                return _INVALID
            if not isinstance(exc, yaml.constructor.ConstructorError) or not exc.problem:
                message = f"`{_shown(node.value)}` is not a valid `{tag}`"
            elif exc.problem.startswith("could not determine a constructor"):
                message = f"unknown tag `{tag}`"
            else:
                message = f"not a valid `{tag}`: {escape(exc.problem)}"
            self.error(
                node,
                "yaml-tag",
                message,
                hint="remove the tag, or quote the value to keep it as a string",
            )
            return _INVALID


def _shown(text: str) -> str:
    return escape(text if len(text) <= 40 else f"{text[:40]}...")


def _problem(value: Any, node: yaml.ScalarNode) -> tuple[str, str, str] | None:
    """What makes a constructed value unusable, as (code, message, hint); None when nothing."""
    if isinstance(value, str):
        bad = _BAD_CHARACTER.search(value)
        if bad is not None:
            return (
                "yaml-bad-character",
                f"the string contains `{escape(bad.group())}`, which no file or environment "
                "variable can hold",
                "remove the escape sequence; write other characters as themselves",
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            return (
                "yaml-non-finite",
                f"`{_shown(node.value)}` is not a finite number",
                "use a finite number, or quote the value to keep it as a string",
            )
    elif isinstance(value, int):  # booleans too
        if not -_INT_LIMIT < value < _INT_LIMIT:
            return ("yaml-int-too-long", _TOO_LONG, "")
    elif value is not None:
        return (
            "yaml-type",
            f"a `{escape(_tag(node.tag))}` value ({type(value).__name__}) is not allowed here",
            "use a string, number, boolean, null, list or mapping",
        )
    return None
