"""Checks of manifest paths against the file system."""

from __future__ import annotations

from pathlib import Path

from .diagnostics import Diagnostic, Location


def output_problem(root: Path, output: str, where: Location) -> Diagnostic | None:
    """Why no DAG file can be written under `root / output` (`root`: the manifest's directory),
    as a diagnostic at `where`: a part of that path exists and is not a directory, or the path
    cannot be used at all (a name too long). None when the directory exists or can be made."""
    target = root / output
    for path in (target, *target.parents):
        try:
            if path.is_dir():
                return None
            blocked = path.exists() or path.is_symlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
        else:
            if not blocked:
                continue
            shown = "it" if path == target else f"`{path}`"
            reason = f"{shown} exists and is not a directory"
        return Diagnostic(
            where,
            "error",
            "output-not-a-directory",
            f"output `{output}` cannot hold the DAG files: {reason}",
            hint="set `output` to a directory, or a path where one can be made",
        )
    return None
