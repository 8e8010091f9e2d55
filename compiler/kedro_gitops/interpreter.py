"""Find the interpreter that has the Kedro project's dependencies (it may not be ours)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def site_packages(python: Path) -> list[Path]:
    """The site-packages folders of a virtual environment's interpreter (unresolved path)."""
    prefix = python.parent.parent
    return sorted(prefix.glob("lib/python3*/site-packages")) + sorted(
        prefix.glob("Lib/site-packages")
    )


def has_kedro(python: Path) -> bool:
    if python == Path(sys.executable):
        return importlib.util.find_spec("kedro") is not None  # finds, does not import
    return any((site / "kedro" / "__init__.py").is_file() for site in site_packages(python))


def candidates(project_dir: Path, root: Path) -> list[Path]:
    """Where a Kedro project's interpreter usually is, most explicit first."""
    found = [Path(sys.executable)]
    if os.environ.get("VIRTUAL_ENV"):
        found.append(Path(os.environ["VIRTUAL_ENV"]) / "bin" / "python")
    found += [project_dir / ".venv" / "bin" / "python", root / ".venv" / "bin" / "python"]
    kedro_script = shutil.which("kedro")
    if kedro_script:
        found.append(Path(kedro_script).parent / "python")
    return list(dict.fromkeys(Path(os.path.abspath(p)) for p in found))  # each path once


def discover(
    configured: str | None, project_dir: Path, root: Path
) -> tuple[Path | None, list[Path]]:
    """The manifest's `project.python` or $KEDRO_GITOPS_PYTHON, else the first candidate that
    has Kedro installed. Returns the interpreter (None when none qualifies) and what was tried.
    """
    root = root.absolute()
    if configured:
        return root / configured, []
    if os.environ.get("KEDRO_GITOPS_PYTHON"):
        return Path(os.environ["KEDRO_GITOPS_PYTHON"]).absolute(), []
    tried = candidates(project_dir, root)
    for python in tried:
        if python.is_file() and has_kedro(python):
            return python, tried
    return None, tried
