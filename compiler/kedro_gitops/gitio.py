"""Read generated DAG files as committed at a git revision (GitPython)."""

from __future__ import annotations

from pathlib import Path

import git

from .diagnostics import CompileError, Diagnostic, Location
from .header import ownership


def committed_files(out_dir: Path, rev: str, owner: str, where: Location) -> dict[str, str]:
    """{file name: text} of the files in `out_dir` at `rev` generated from the manifest of
    `owner` (the files of kedro-gitops 0.1 included)."""
    try:
        repo = git.Repo(out_dir.parent, search_parent_directories=True)
        commit = repo.commit(rev)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "not-a-repository",
                    f"{out_dir.parent} is not in a git repository",
                )
            ]
        ) from None
    except (git.BadName, ValueError):
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "unknown-revision",
                    f"unknown git revision `{rev}`",
                    hint="use a branch, tag or commit, e.g. origin/main",
                )
            ]
        ) from None
    top = Path(repo.working_tree_dir or ".").resolve()
    if not out_dir.resolve().is_relative_to(top):
        return {}
    folder = out_dir.resolve().relative_to(top).as_posix()
    try:
        tree = commit.tree / folder if folder != "." else commit.tree
    except KeyError:
        return {}
    if not isinstance(tree, git.Tree):  # a file or a symlink by that name at `rev`
        return {}
    files = {}
    for blob in tree.blobs:
        if blob.name.endswith(".py"):
            text = blob.data_stream.read().decode("utf-8", errors="replace")
            if ownership(text, owner) != "foreign":
                files[blob.name] = text
    return files


def untracked(out_dir: Path, names: list[str]) -> list[str]:
    """Those of `names` in `out_dir` that git does not track (empty outside a repository)."""
    try:
        repo = git.Repo(out_dir.parent, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return []
    top = Path(repo.working_tree_dir or ".").resolve()
    if not out_dir.resolve().is_relative_to(top):
        return []
    folder = out_dir.resolve().relative_to(top).as_posix()
    tracked = set(repo.git.ls_files("-z", "--", folder).split("\0"))
    prefix = "" if folder == "." else f"{folder}/"
    return [n for n in names if f"{prefix}{n}" not in tracked and (out_dir / n).exists()]
