"""Compare, diff and write the generated files; only files carrying our header are touched."""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .diagnostics import CompileError, Diagnostic, Location
from .header import Ownership, ownership


@dataclass(frozen=True)
class Change:
    name: str
    kind: Literal["changed", "missing", "orphaned"]
    old: str
    new: str
    edited: bool = False  # the old file carries our header but not the text we generated

    def diff(self, output: str) -> str:
        path = f"{output}/{self.name}"
        old = self.old.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        lines = difflib.unified_diff(
            old.splitlines(keepends=True),
            self.new.splitlines(keepends=True),
            fromfile="/dev/null" if self.kind == "missing" else f"a/{path}",
            tofile="/dev/null" if self.kind == "orphaned" else f"b/{path}",
        )
        return "".join(lines)


def read_owned(path: Path, owner: str) -> tuple[Ownership, str]:
    """Whose the file at `path` is, and its text (undecodable bytes kept as surrogates). Only a
    regular file can be ours: a FIFO, a device or a symlink is never opened."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return "foreign", ""
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return "foreign", ""
    return ownership(text, owner), text


def existing_generated(out_dir: Path, owner: str) -> dict[str, tuple[Ownership, str]]:
    """{file name: (ownership, text)} of the files in `out_dir` generated from our manifest."""
    try:
        names = sorted(p.name for p in out_dir.iterdir() if p.name.endswith(".py"))
    except OSError:
        return {}
    found = {name: read_owned(out_dir / name, owner) for name in names}
    return {name: found for name, found in found.items() if found[0] != "foreign"}


def changes(files: dict[str, str], out_dir: Path, owner: str) -> list[Change]:
    """What writing `files` would change in `out_dir`, sorted by file name. Files of other
    manifests or written by hand are not ours: never orphaned, never compared."""
    current = existing_generated(out_dir, owner)
    found = []
    for name in sorted(set(files) | set(current)):
        state, old = current.get(name, ("foreign", ""))
        new = files.get(name)
        edited = state == "edited"
        if new is None:
            found.append(Change(name, "orphaned", old, "", edited))
        elif name not in current:
            found.append(Change(name, "missing", "", new))
        elif old != new:
            found.append(Change(name, "changed", old, new, edited))
    return found


def write(files: dict[str, str], out_dir: Path, owner: str, manifest: str) -> list[Change]:
    """Bring `out_dir` to `files`: stage everything first, then swap in; remove our orphans."""
    foreign = [
        name
        for name in sorted(files)
        if os.path.lexists(out_dir / name) and read_owned(out_dir / name, owner)[0] == "foreign"
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
        if change.kind == "orphaned" and not change.edited:
            (out_dir / change.name).unlink()
    return todo
