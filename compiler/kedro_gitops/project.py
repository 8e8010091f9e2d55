"""Read the Kedro project: run the introspection script in the project's own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from . import cache
from .diagnostics import CompileError, Diagnostic, Location
from .interpreter import discover
from .manifest import Manifest
from .snapshot import ProjectSnapshot, env_key


def _run_introspection(
    python: Path, project_dir: Path, specs: Any, script: str, where: Location
) -> Any:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="kedro-gitops-") as tmp:
        out = Path(tmp) / "snapshot.json"
        cmd = [str(python), "-c", script, str(project_dir), str(out), json.dumps(specs)]
        try:
            proc = subprocess.run(
                cmd, cwd=project_dir, env=env, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise _error(
                where,
                "project-python",
                f"cannot run the project's interpreter `{python}`: {exc.strerror}",
                "set `project.python` to an interpreter that has Kedro installed",
            ) from None
        data = json.loads(out.read_text("utf-8")) if out.is_file() else {}
    if proc.returncode != 0 or "error" in data:
        lines = proc.stderr.strip().splitlines() or ["the interpreter printed nothing"]
        raise _error(
            where,
            "project-load",
            f"reading the Kedro project failed: {data.get('error') or lines[-1]}",
            "run `kedro registry list` in the project to see the full error",
        )
    return data


def _error(where: Location, code: str, message: str, hint: str) -> CompileError:
    return CompileError([Diagnostic(where, "error", code, message, hint=hint)])


def read_project(manifest: Manifest, root: Path, *, use_cache: bool = True) -> ProjectSnapshot:
    """Snapshot every environment the manifest uses, from the cache when nothing changed."""
    where = Location(manifest.file)
    project_dir = (root / manifest.project_path).resolve()
    if not (project_dir / "pyproject.toml").is_file():
        raise _error(
            where,
            "project-not-found",
            f"no Kedro project at `{manifest.project_path}` (no pyproject.toml)",
            "`project.path` is relative to the manifest",
        )
    python, tried = discover(manifest.project_python, project_dir, root)
    if python is None:
        raise _error(
            where,
            "project-python",
            "found no interpreter with Kedro installed; tried " + ", ".join(str(p) for p in tried),
            "set `project.python` in the manifest, or KEDRO_GITOPS_PYTHON",
        )
    specs = {
        env_key(e.kedro_env, e.conf_source): {"env": e.kedro_env, "conf_source": e.conf_source}
        for e in manifest.environments.values()
    }
    script = resources.files(__package__).joinpath("introspect.py").read_text("utf-8")
    output = (root / manifest.output).resolve()
    key = cache.snapshot_key(project_dir, python, specs, script, output) if use_cache else ""
    data = cache.load(key) if use_cache else None
    if data is None:
        data = _run_introspection(python, project_dir, specs, script, where)
        if use_cache:
            cache.store(key, data)
    return ProjectSnapshot.from_json(data)
