"""Compare, diff and write the generated files; only files carrying our header are touched.

A compile writes while holding a lock on the output folder's parent directory, so compiles
writing to one folder run one after another. On Linux the folder's new contents appear all at
once, even to someone looking right after the compile was killed (see swap.py); elsewhere, and
when the folder does not allow it (a mount point, hard links refused), file by file: each file
is replaced atomically, the set is not.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import swap
from .diagnostics import CompileError, Diagnostic, Location
from .header import Ownership, ownership

LOCK_TIMEOUT = 120.0  # seconds a compile waits for another one writing to the same folder
_TEMP_FILE = re.compile(r"\.[^/]+\.py\.[a-z0-9_]{8}")  # staged by mkstemp: .<name>.py.XXXXXXXX


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
    """Bring `out_dir` to `files` and remove our orphans (never edited ones), while holding the
    folder's lock; all at once where swap.replace_all can, else file by file. A symlinked
    folder is written at its target, the link kept."""
    folder = Path(os.path.realpath(out_dir))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder, out_dir.name, manifest):
        folder.mkdir(exist_ok=True)
        swap.remove_leftovers(folder)
        _remove_temp_files(folder)
        _refuse_foreign(files, folder, owner, manifest, out_dir.name)
        todo = changes(files, folder, owner)
        new = {c.name: c.new for c in todo if c.kind != "orphaned"}
        gone = [c.name for c in todo if c.kind == "orphaned" and not c.edited]
        if (new or gone) and not swap.replace_all(folder, new, gone):
            _replace_each(folder, new, gone)
    return todo


@contextmanager
def _locked(folder: Path, shown: str, manifest: str) -> Iterator[None]:
    """Hold an exclusive lock on the parent of `folder` (which outlives swapping the folder),
    waiting at most LOCK_TIMEOUT seconds for another compile holding it."""
    if sys.platform == "win32":  # no flock: compiles are not serialised
        yield
        return
    fd = os.open(folder.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _try_lock(fd):
            print(
                f"waiting for another kedro-gitops compile writing to {shown}/ ...", file=sys.stderr
            )
            deadline = time.monotonic() + LOCK_TIMEOUT
            while not _try_lock(fd):
                if time.monotonic() > deadline:
                    raise CompileError([_locked_out(shown, manifest)])
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on `fd` if it is free. True too where the filesystem has no
    such locks (some network filesystems): compiles cannot be serialised there."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def _locked_out(shown: str, manifest: str) -> Diagnostic:
    return Diagnostic(
        Location(manifest),
        "error",
        "output-locked",
        f"another kedro-gitops compile kept writing to {shown}/ for {LOCK_TIMEOUT:.0f} s",
        hint="let it finish or stop it, then compile again",
    )


def _remove_temp_files(folder: Path) -> None:
    """Remove the temporary files (`.<name>.py.XXXXXXXX`) a killed compile left, empty or
    generated ones only: never a user's file named alike."""
    with os.scandir(folder) as entries:
        found = [e.path for e in entries if _TEMP_FILE.fullmatch(e.name)]
    for path in found:
        if swap.written_by_a_compile(path):
            Path(path).unlink(missing_ok=True)


def _refuse_foreign(
    files: dict[str, str], folder: Path, owner: str, manifest: str, shown: str
) -> None:
    """A CompileError naming the files to write that exist and are not ours."""
    foreign = [
        name
        for name in sorted(files)
        if os.path.lexists(folder / name) and read_owned(folder / name, owner)[0] == "foreign"
    ]
    if foreign:
        raise CompileError(
            [
                Diagnostic(
                    Location(manifest),
                    "error",
                    "foreign-file",
                    f"{shown}/{name} exists and was not generated from {manifest}",
                    hint="move it away or change the DAG's `dag_id`; it is never overwritten",
                )
                for name in foreign
            ]
        )


def _replace_each(folder: Path, new: dict[str, str], gone: list[str]) -> None:
    """Write file by file: each staged beside its final name, then renamed over it."""
    staged: list[tuple[str, str]] = []  # (name, staged temporary file)
    try:
        for name, text in new.items():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            staged.append((name, tmp_name))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            os.chmod(tmp_name, 0o644)
    except BaseException:
        for _, tmp_name in staged:
            Path(tmp_name).unlink(missing_ok=True)
        raise
    for name, tmp_name in staged:
        os.replace(tmp_name, folder / name)
    for name in gone:
        (folder / name).unlink(missing_ok=True)
