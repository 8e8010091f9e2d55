"""Where the manifest and its output folder sit: the repository, and checks against the file
system."""

from __future__ import annotations

import os
from pathlib import Path

from .diagnostics import CompileError, Diagnostic, Location
from .header import unprintable

MANIFEST = "pipelines.deploy.yaml"


def find_manifest(folder: Path) -> Path:
    """The nearest `pipelines.deploy.yaml` in `folder` or above it, as git finds its root
    (relative to `folder` when found there or above); else the name, which then is not found."""
    for candidate in (folder, *folder.parents):
        if (candidate / MANIFEST).is_file():
            return Path(os.path.relpath(candidate / MANIFEST, folder))
    return Path(MANIFEST)


def repository_root(folder: Path) -> Path | None:
    """The top of the git work tree that holds `folder`, found as git finds it, or None."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def manifest_id(path: Path, output: str) -> str:
    """How generated files name their manifest: its path in the git repository, or else relative
    to the output folder's parent (the same for the usual layout), so any checkout agrees."""
    manifest = Path(os.path.abspath(path))  # symlinks kept: a checkout has them as they are
    root = (
        repository_root(manifest.parent) or Path(os.path.abspath(manifest.parent / output)).parent
    )
    found = os.path.relpath(manifest, root).replace(os.sep, "/")
    bad = unprintable(found)
    if bad is not None:
        raise CompileError(
            [
                Diagnostic(
                    Location(found.encode("unicode_escape").decode("ascii")),
                    "error",
                    "manifest-name",
                    f"the manifest's path holds the character {bad!r}, which a generated file "
                    "cannot name",
                    hint="rename the manifest or its folder",
                )
            ]
        )
    return found


def output_problems(root: Path, output: str, where: Location) -> list[Diagnostic]:
    """Why the DAG files cannot go to `root / output`: not a folder, or outside the manifest's
    git repository (files there are never committed, so Airflow never receives them)."""
    blocked = output_problem(root, output, where)
    if blocked is not None:
        return [blocked]
    top = repository_root(root.resolve())
    if top is not None and not (root / output).resolve().is_relative_to(top.resolve()):
        return [
            Diagnostic(
                where,
                "error",
                "output-outside-repository",
                f"output `{output}` is outside the git repository {top.name}/: its files would "
                "never be committed, and Airflow receives only committed files",
                hint="write the DAG files to a folder of the repository, e.g. `dags`",
            )
        ]
    return []


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
