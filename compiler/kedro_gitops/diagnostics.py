"""Diagnostics: located, coded messages with hints, collected rather than raised one by one."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Literal

Severity = Literal["error", "warning"]

# Characters that could end or rewrite a line of output (C0 and C1 controls, DEL, the Unicode
# line and paragraph separators) or cannot be encoded at all (lone surrogates).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def escape(text: str) -> str:
    """`text` with each unprintable character written as a Python escape (`\\n`, `\\x1b`)."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


@dataclass(frozen=True, order=True)
class Location:
    """A point in a source file (1-based line and column)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about the manifest or the project it deploys."""

    location: Location
    severity: Severity
    code: str
    message: str
    hint: str = ""
    dags: tuple[str, ...] = ()  # the DAGs it is about, when it is about some
    environments: tuple[str, ...] = ()  # the manifest environments it is about

    def about(self, dag: str, environment: str) -> Diagnostic:
        """The same finding, said of one DAG and environment (unless it names its own)."""
        if self.dags or self.environments:
            return self
        return replace(self, dags=(dag,), environments=(environment,))

    def _context(self) -> str:
        parts = []
        for noun, names in (("DAG", self.dags), ("environment", self.environments)):
            if names:
                plural = "s" if len(names) > 1 else ""
                parts.append(f"{noun}{plural} {', '.join(names)}")
        return f" ({'; '.join(parts)})" if parts else ""

    def render(self) -> str:
        """One line, and a second for the hint: values from the manifest or the project can
        never start a line of their own (a CI log would read it as a command)."""
        text = escape(
            f"{self.location}: {self.severity}[{self.code}]: {self.message}{self._context()}"
        )
        return f"{text}\n  hint: {escape(self.hint)}" if self.hint else text


def merged(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted, each finding once: the same finding about several DAGs or environments becomes
    one that names them all."""
    about: dict[tuple[Location, Severity, str, str, str], tuple[set[str], set[str]]] = {}
    for d in diagnostics:
        dags, environments = about.setdefault(
            (d.location, d.severity, d.code, d.message, d.hint), (set(), set())
        )
        dags.update(d.dags)
        environments.update(d.environments)
    return sorted(
        Diagnostic(*key, tuple(sorted(dags)), tuple(sorted(environments)))
        for key, (dags, environments) in about.items()
    )


class CompileError(Exception):
    """Raised when a phase found errors; carries every diagnostic collected so far."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = merged(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or listing the valid ones when none is close."""
    options = sorted(set(candidates))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if not options:
        return "there are none"
    shown = ", ".join(f"`{o}`" for o in options[:8])
    more = f" and {len(options) - 8} more" if len(options) > 8 else ""
    return f"valid values: {shown}{more}"


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    items = merged(diagnostics)
    lines = [d.render() for d in items]
    errors = sum(d.severity == "error" for d in items)
    warnings = len(items) - errors
    if items:
        lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    rows = []
    for d in merged(diagnostics):
        row = asdict(d)
        row["location"] = asdict(d.location)
        rows.append(row)
    # ensure_ascii: every non-ASCII character, lone surrogates included, becomes a `\uXXXX`
    return json.dumps({"diagnostics": rows}, indent=2, sort_keys=True, ensure_ascii=True)
