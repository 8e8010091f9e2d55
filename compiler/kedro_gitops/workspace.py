"""What a checkout on the worker will hold: the files git tracks (the checks that need git)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .runtime import listed

if TYPE_CHECKING:
    from .plan import Plan


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    try:
        return subprocess.run(
            ["git", *args], cwd=project_dir, env=env, capture_output=True, text=True, check=False
        )
    except OSError:
        return None


def tracked(project_dir: Path, paths: list[str]) -> set[str] | None:
    """Those of `paths` (relative to `project_dir`) that git tracks, a folder when it tracks a
    file in it; None when `project_dir` is not in a git repository."""
    if not paths:
        return set()
    found = _git(project_dir, "ls-files", "-z", "--", *paths)
    if found is None or found.returncode != 0:
        return None
    files = [f for f in found.stdout.split("\0") if f]
    return {p for p in paths if any(f == p or f.startswith(p.rstrip("/") + "/") for f in files)}


def ignored(project_dir: Path, path: str) -> bool:
    checked = _git(project_dir, "check-ignore", "-q", "--", path)
    return checked is not None and checked.returncode == 0


def check_checkout(plan: Plan, project_dir: Path) -> list[Diagnostic]:
    """A relative interpreter a checkout would not have is an error; inputs read from relative
    paths that git does not track (a git-ignored `data/`) are a warning."""
    problems = []
    for dag in plan.dags:
        if dag.runtime != "checkout":
            continue
        if dag.python.kind == "project":
            path = os.path.normpath(dag.python.value)
            have = tracked(project_dir, [path])
            if have is not None and path not in have:
                why = (
                    "is in a git-ignored folder"
                    if ignored(project_dir, path)
                    else "is not committed"
                )
                problems.append(
                    Diagnostic(
                        dag.executor_location,
                        "error",
                        "interpreter-not-committed",
                        f"executor `{dag.settings.executor}`: interpreter `{dag.python.value}` "
                        f"{why}: a checkout on the worker (git-sync, a GitDagBundle) lacks it",
                        hint="leave `python` unset to use the worker's own interpreter, or give "
                        "an absolute path or `{env: NAME}` that the workers set",
                    ).about(dag.dag_id, dag.environment)
                )
        reads = [(d, p) for d, p in dag.local_reads if "{" not in p]
        have = tracked(project_dir, sorted({os.path.normpath(p) for _, p in reads}))
        missing = [(d, p) for d, p in reads if have is not None and os.path.normpath(p) not in have]
        if missing:
            problems.append(
                Diagnostic(
                    dag.environment_location,
                    "warning",
                    "input-not-committed",
                    f"reads {listed(missing)}, which git does not track: a checkout "
                    "on the worker will not have them",
                    hint="commit the files, or read them from an absolute or remote path in the "
                    "environment's catalog",
                ).about(dag.dag_id, dag.environment)
            )
    return problems
