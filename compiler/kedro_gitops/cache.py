"""Cache project snapshots by a hash of everything they depend on."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .interpreter import site_packages

# Folders of a Kedro project that never change what the snapshot says.
SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", "data", "logs", "notebooks", "build", "dist", "docs",
     "tests", ".ipynb_checkpoints", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules",
     ".github"}
)  # fmt: skip
# Files that never change it either: documentation, notebooks, logs, bytecode, and the manifest
# and hook files kedro-gitops itself adds to a project (`kedro-gitops init`).
SKIP_SUFFIXES = (".pyc", ".log", ".md", ".rst", ".ipynb", ".deploy.yaml")
SKIP_FILES = frozenset({".pre-commit-config.yaml", ".gitlab-ci.yml"})


def cache_dir() -> Path:
    configured = os.environ.get("KEDRO_GITOPS_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kedro-gitops"


def _project_files(project_dir: Path, skip: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS and not d.endswith(".egg-info") and Path(folder, d) != skip
        )
        for name in sorted(files):
            if not name.endswith(SKIP_SUFFIXES) and name not in SKIP_FILES:
                yield Path(folder) / name


def snapshot_key(project_dir: Path, python: Path, request: Any, script: str, output: Path) -> str:
    """Hash of the project's files (but the DAG output folder, which may sit inside the
    project), the interpreter and its packages, the request and the introspection script."""
    digest = hashlib.sha256()
    # `.venv/bin/python` and `.venv/bin/python3` are one interpreter; two venvs are not.
    interpreter = [str(python.parent.absolute()), str(python.resolve())]
    digest.update(json.dumps([interpreter, request], sort_keys=True).encode())
    digest.update(script.encode())
    for site in site_packages(python):  # installing or upgrading a package changes its mtime
        digest.update(f"{site}:{site.stat().st_mtime_ns}".encode())
    for path in _project_files(project_dir, output):
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@functools.cache
def package_digest() -> str:
    """A hash of kedro-gitops's own code, templates and schema: a new version, new outputs."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".jinja", ".json"):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_key(manifest_text: str, manifest_name: str, snapshot_key: str) -> str:
    """Key of a whole build: the manifest as written and named, the snapshot, kedro-gitops."""
    parts = ["build", manifest_name, manifest_text, snapshot_key, package_digest()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def load(key: str) -> Any:
    try:
        return json.loads((cache_dir() / f"{key}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def store(key: str, text: str) -> None:
    """Write atomically; a cache that cannot be written is not an error."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        pass
