"""Run the phases in order: load the manifest, read the project, plan, render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .diagnostics import CompileError, Diagnostic, Location
from .manifest import Manifest, parse_manifest
from .plan import Plan, build_plan
from .project import read_project
from .render import render_plan


@dataclass(frozen=True)
class Build:
    manifest: Manifest
    plan: Plan
    files: dict[str, str]
    out_dir: Path


def load_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CompileError(
            [
                Diagnostic(
                    Location(str(path)),
                    "error",
                    "manifest-not-found",
                    f"cannot read the manifest: {exc.strerror}",
                    hint="pass --manifest PATH",
                )
            ]
        ) from None
    return parse_manifest(text, path.name if path.parent == Path() else str(path))


def build(path: Path, *, use_cache: bool = True) -> Build:
    """Everything `compile` would write for the manifest at `path`, written nowhere."""
    manifest = load_manifest(path)
    root = path.parent
    plan = build_plan(manifest, read_project(manifest, root, use_cache=use_cache))
    return Build(manifest, plan, render_plan(plan), root / manifest.output)
