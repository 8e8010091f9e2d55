"""Run the phases in order: load the manifest, read the project, plan, render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import CompileError, Diagnostic, Location
from .project import ProjectRequest, Reading
from .source import load_yaml

if TYPE_CHECKING:
    from .manifest import Manifest
    from .plan import Plan


@dataclass(frozen=True)
class Build:
    manifest: Manifest
    plan: Plan
    files: dict[str, str]
    out_dir: Path

    @property
    def owner(self) -> str:
        """The first line of every file this manifest generates."""
        from .render import owner_line

        return owner_line(self.plan.manifest)


def read_manifest(path: Path) -> tuple[str, str]:
    """The manifest's text and the name diagnostics use for it."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        where = Location(str(path))
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "manifest-not-found",
                    f"cannot read the manifest: {exc.strerror}",
                    hint="pass --manifest PATH",
                )
            ]
        ) from None
    return text, path.name if path.parent == Path() else str(path)


def load_manifest(path: Path) -> Manifest:
    from .manifest import manifest_from_data

    return manifest_from_data(*load_yaml(*read_manifest(path)))


def build(path: Path, *, use_cache: bool = True) -> Build:
    """Everything `compile` would write for the manifest at `path`, written nowhere.

    The project's interpreter starts reading the project as soon as the manifest is loaded, and
    runs while the rest of kedro-gitops is imported and the manifest validated.
    """
    data, smap = load_yaml(*read_manifest(path))
    root = path.parent
    early = ProjectRequest.from_data(data, smap.file)
    reading = Reading(early, root, use_cache=use_cache) if early else None
    from .manifest import manifest_from_data
    from .plan import build_plan
    from .render import render_plan

    try:
        manifest = manifest_from_data(data, smap)
        request = ProjectRequest.from_manifest(manifest)
        if reading is None or reading.request != request:
            if reading is not None:
                reading.cancel()
            reading = Reading(request, root, use_cache=use_cache)
        snapshot = reading.result()
    except BaseException:
        if reading is not None:
            reading.cancel()
        raise
    plan = build_plan(manifest, snapshot)
    return Build(manifest, plan, render_plan(plan), root / manifest.output)
