"""Read the Kedro project: run the introspection script in the project's own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from .diagnostics import CompileError, Diagnostic, Location
from .manifest import Manifest
from .snapshot import ProjectSnapshot, env_key


def interpreter(manifest: Manifest, root: Path) -> str:
    """The project's interpreter: the manifest's `project.python`, else the current one."""
    if manifest.project_python:
        return str((root / manifest.project_python).absolute())
    return sys.executable


def read_project(manifest: Manifest, root: Path) -> ProjectSnapshot:
    """Snapshot every environment the manifest uses; errors become diagnostics."""
    project_dir = (root / manifest.project_path).resolve()
    where = Location(manifest.file)
    if not (project_dir / "pyproject.toml").is_file():
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "project-not-found",
                    f"no Kedro project at `{manifest.project_path}` (no pyproject.toml)",
                    hint="`project.path` is relative to the manifest",
                )
            ]
        )
    specs = {
        env_key(e.kedro_env, e.conf_source): {"env": e.kedro_env, "conf_source": e.conf_source}
        for e in manifest.environments.values()
    }
    script = resources.files(__package__).joinpath("introspect.py").read_text("utf-8")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="kedro-gitops-") as tmp:
        out = Path(tmp) / "snapshot.json"
        cmd = [
            interpreter(manifest, root),
            "-c",
            script,
            str(project_dir),
            str(out),
            json.dumps(specs),
        ]
        try:
            proc = subprocess.run(
                cmd, cwd=project_dir, env=env, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise CompileError(
                [
                    Diagnostic(
                        where,
                        "error",
                        "project-python",
                        f"cannot run the project's interpreter `{cmd[0]}`: {exc.strerror}",
                        hint="set `project.python` to an interpreter that has Kedro installed",
                    )
                ]
            ) from None
        data = json.loads(out.read_text("utf-8")) if out.is_file() else {}
    if proc.returncode != 0 or "error" in data:
        lines = proc.stderr.strip().splitlines() or ["the interpreter printed nothing"]
        message = data.get("error") or lines[-1]
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "project-load",
                    f"reading the Kedro project failed: {message}",
                    hint="run `kedro registry list` in the project to see the full error",
                )
            ]
        )
    return ProjectSnapshot.from_json(data)
