"""Compare, diff and write the generated files; only files carrying our header are touched."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .diagnostics import CompileError, Diagnostic, Location


@dataclass(frozen=True)
class Change:
    name: str
    kind: Literal["changed", "missing", "orphaned"]
    old: str
    new: str

    def diff(self, output: str) -> str:
        path = f"{output}/{self.name}"
        lines = difflib.unified_diff(
            self.old.splitlines(keepends=True),
            self.new.splitlines(keepends=True),
            fromfile="/dev/null" if self.kind == "missing" else f"a/{path}",
            tofile="/dev/null" if self.kind == "orphaned" else f"b/{path}",
        )
        return "".join(lines)


def is_generated(path: Path, owner: str) -> bool:
    """True when the file begins with `owner`: generated from the same manifest."""
    try:
        with path.open(encoding="utf-8") as f:
            return f.readline().startswith(owner)
    except (OSError, UnicodeDecodeError):
        return False


def existing_generated(out_dir: Path, owner: str) -> dict[str, str]:
    if not out_dir.is_dir():
        return {}
    return {
        p.name: p.read_text("utf-8")
        for p in sorted(out_dir.glob("*.py"))
        if p.is_file() and is_generated(p, owner)
    }


def changes(files: dict[str, str], out_dir: Path, owner: str) -> list[Change]:
    """What writing `files` would change in `out_dir`, sorted by file name. Files of other
    manifests or written by hand are not ours: never orphaned, never compared."""
    current = existing_generated(out_dir, owner)
    found = []
    for name in sorted(set(files) | set(current)):
        old, new = current.get(name), files.get(name)
        if new is None:
            found.append(Change(name, "orphaned", old or "", ""))
        elif old is None:
            found.append(Change(name, "missing", "", new))
        elif old != new:
            found.append(Change(name, "changed", old, new))
    return found


def write(files: dict[str, str], out_dir: Path, owner: str, manifest: str) -> list[Change]:
    """Bring `out_dir` to `files`: stage everything first, then swap in; remove our orphans."""
    foreign = [
        name
        for name in sorted(files)
        if (out_dir / name).exists() and not is_generated(out_dir / name, owner)
    ]
    if foreign:
        raise CompileError(
            [
                Diagnostic(
                    Location(manifest),
                    "error",
                    "foreign-file",
                    f"{out_dir.name}/{name} exists and was not generated from {manifest}",
                    hint="move it away or change the DAG's `dag_id`; it is never overwritten",
                )
                for name in foreign
            ]
        )
    todo = changes(files, out_dir, owner)
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []  # (name, staged temporary file)
    try:
        for change in todo:
            if change.kind != "orphaned":
                fd, tmp_name = tempfile.mkstemp(prefix=f".{change.name}.", dir=out_dir)
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                    f.write(change.new)
                os.chmod(tmp_name, 0o644)
                staged.append((change.name, Path(tmp_name)))
    except BaseException:
        for _, staged_file in staged:
            staged_file.unlink(missing_ok=True)
        raise
    for name, staged_file in staged:
        os.replace(staged_file, out_dir / name)
    for change in todo:
        if change.kind == "orphaned":
            (out_dir / change.name).unlink()
    return todo
