"""Read the Kedro project: run the introspection script in the project's own interpreter.

Reading takes a second or more (the project's interpreter imports Kedro and the pipelines), so it
starts as soon as the manifest says which project and environments to read, and the rest of the
compile goes on meanwhile; a cached snapshot skips the interpreter altogether.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache
from .diagnostics import CompileError, Diagnostic, Location
from .interpreter import discover
from .snapshot import ProjectSnapshot, env_key

if TYPE_CHECKING:
    from .manifest import Manifest


Spec = tuple[str, str, "str | None", tuple[tuple[str, str], ...]]  # key, env, conf, variables


@dataclass(frozen=True)
class ProjectRequest:
    """What to read: the project, its interpreter, and the (env, conf_source) pairs."""

    file: str
    project_path: str
    python: str | None
    output: str
    specs: tuple[Spec, ...]
    pipelines: tuple[str, ...]  # whose nodes are needed
    params: tuple[str, ...] = ()  # the parameters whose values are needed (dotted paths)
    callbacks: tuple[str, ...] = ()  # notification targets to look up, `module:name`

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> ProjectRequest:
        specs = {(e.kedro_env, e.conf_source, e.env) for e in manifest.environments.values()}
        return cls(
            manifest.file,
            manifest.project_path,
            manifest.project_python,
            manifest.output,
            _keyed(specs),
            tuple(sorted({p for d in manifest.dags for p in (d.pipeline, d.setup_pipeline) if p})),
            tuple(sorted({p for d in manifest.dags for p in d.params})),
            tuple(sorted({t for d in manifest.dags for _, t in d.notifications})),
        )

    @classmethod
    def from_data(cls, data: Any, file: str) -> ProjectRequest | None:
        """The request of loaded, not yet validated manifest data; None when it is malformed
        (validation then reports why)."""
        try:
            specs = {
                (e["kedro_env"], e.get("conf_source"), tuple(sorted((e.get("env") or {}).items())))
                for e in data["environments"].values()
            }
            entries = (data.get("defaults") or {}, *data["dags"])
            request = cls(
                file,
                data["project"]["path"],
                data["project"].get("python"),
                data.get("output", "dags"),
                _keyed(specs),
                tuple(
                    sorted(
                        {d["pipeline"] for d in data["dags"]}
                        | {d["setup"]["pipeline"] for d in data["dags"] if "setup" in d}
                    )
                ),
                tuple(sorted({p for entry in entries for p in entry.get("params") or ()})),
                tuple(
                    sorted({t for e in entries for t in (e.get("notifications") or {}).values()})
                ),
            )
        except (KeyError, TypeError, AttributeError):
            return None
        fields = (request.project_path, request.python or "", request.output)
        plain = all(isinstance(v, str) for v in fields)
        plain = plain and all(
            isinstance(p, str) for p in (*request.pipelines, *request.params, *request.callbacks)
        )
        plain = plain and all(
            isinstance(env, str)
            and isinstance(conf, (str, type(None)))
            and all(isinstance(v, str) for pair in variables for v in pair)
            for _, env, conf, variables in request.specs
        )
        return request if plain else None


def _keyed(specs: set[tuple[str, str | None, tuple[tuple[str, str], ...]]]) -> tuple[Spec, ...]:
    return tuple(sorted((env_key(*spec), *spec) for spec in specs))


def _error(where: Location, code: str, message: str, hint: str) -> CompileError:
    return CompileError([Diagnostic(where, "error", code, message, hint=hint)])


class Reading:
    """A project snapshot on its way: from the cache, or from a running interpreter."""

    def __init__(self, request: ProjectRequest, root: Path, *, use_cache: bool = True) -> None:
        self.request = request
        self._where = Location(request.file)
        self._data: Any = None
        self._error: CompileError | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.cache_key = ""  # set when the snapshot is (or will be) in the cache
        try:
            self._start(root, use_cache)
        except CompileError as exc:
            self._error = exc

    def _start(self, root: Path, use_cache: bool) -> None:
        request = self.request
        project_dir = (root / request.project_path).resolve()
        if not (project_dir / "pyproject.toml").is_file():
            raise _error(
                self._where,
                "project-not-found",
                f"no Kedro project at `{request.project_path}` (no pyproject.toml)",
                "`project.path` is relative to the manifest",
            )
        python, tried = discover(request.python, project_dir, root)
        if python is None:
            raise _error(
                self._where,
                "project-python",
                "found no interpreter with Kedro installed; tried "
                + ", ".join(str(p) for p in tried),
                "set `project.python` in the manifest, or KEDRO_GITOPS_PYTHON",
            )
        specs = {
            key: {"env": env, "conf_source": conf, "vars": dict(variables)}
            | ({"params": list(request.params)} if request.params else {})
            for key, env, conf, variables in request.specs
        }
        wanted = json.dumps(list(request.pipelines))
        callbacks = json.dumps(list(request.callbacks))
        script = resources.files(__package__).joinpath("introspect.py").read_text("utf-8")
        if use_cache:
            output = (root / request.output).resolve()
            self.cache_key = cache.snapshot_key(
                project_dir, python, [specs, request.pipelines, request.callbacks], script, output
            )
            self._data = cache.load(self.cache_key)
            if self._data is not None:
                return
        self._tmp = tempfile.TemporaryDirectory(prefix="kedro-gitops-")
        out = Path(self._tmp.name) / "snapshot.json"
        env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONHASHSEED": "0"}
        cmd = [
            str(python),
            "-c",
            script,
            str(project_dir),
            str(out),
            json.dumps(specs),
            wanted,
            callbacks,
        ]
        try:
            self._proc = subprocess.Popen(
                cmd, cwd=project_dir, env=env, text=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            self._tmp.cleanup()
            raise _error(
                self._where,
                "project-python",
                f"cannot run the project's interpreter `{python}`: {exc.strerror}",
                "set `project.python` to an interpreter that has Kedro installed",
            ) from None

    @property
    def from_cache(self) -> bool:
        """True when the snapshot was in the cache: no interpreter was started."""
        return self._proc is None and self._data is not None

    def result(self) -> ProjectSnapshot:
        """The snapshot; raises CompileError when the project could not be read."""
        if self._error is not None:
            raise self._error
        if self._data is None and self._proc is not None and self._tmp is not None:
            _, stderr = self._proc.communicate()
            out = Path(self._tmp.name) / "snapshot.json"
            text = out.read_text("utf-8") if out.is_file() else "{}"
            data = json.loads(text)
            self._tmp.cleanup()
            if self._proc.returncode != 0 or "error" in data:
                lines = stderr.strip().splitlines() or ["the interpreter printed nothing"]
                self._error = _error(
                    self._where,
                    "project-load",
                    f"reading the Kedro project failed: {data.get('error') or lines[-1]}",
                    "run `kedro registry list` in the project to see the full error",
                )
                raise self._error
            self._data = data
            if self.cache_key:
                cache.store(self.cache_key, text)
        return ProjectSnapshot.from_json(self._data)

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        if self._tmp is not None:
            self._tmp.cleanup()


def read_project(manifest: Manifest, root: Path, *, use_cache: bool = True) -> ProjectSnapshot:
    """Snapshot every environment the manifest uses, from the cache when nothing changed."""
    return Reading(ProjectRequest.from_manifest(manifest), root, use_cache=use_cache).result()
