"""Run the phases in order: load the manifest, read the project, plan, render."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache
from .diagnostics import CompileError, Diagnostic, Location, has_errors, merged
from .header import owner_line
from .paths import manifest_id, output_problems, repository_root
from .project import ProjectRequest, Reading
from .source import load_yaml

if TYPE_CHECKING:
    from .manifest import Manifest
    from .plan import Plan


@dataclass(frozen=True)
class Build:
    """What a manifest compiles to. `plan` is None when the files came from the build cache."""

    manifest_file: str
    output: str
    out_dir: Path
    owner: str
    files: dict[str, str]
    diagnostics: tuple[Diagnostic, ...]
    plan: Plan | None = None

    def cached(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "owner": self.owner,
            "files": self.files,
            "diagnostics": [asdict(d) for d in self.diagnostics],
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any], manifest_file: str, root: Path) -> Build:
        diagnostics = tuple(
            Diagnostic(
                **{
                    **d,
                    "location": Location(**d["location"]),
                    "dags": tuple(d["dags"]),
                    "environments": tuple(d["environments"]),
                }
            )
            for d in data["diagnostics"]
        )
        return cls(
            manifest_file,
            data["output"],
            root / data["output"],
            data["owner"],
            data["files"],
            diagnostics,
        )


def read_manifest(path: Path) -> tuple[str, str]:
    """The manifest's text (line breaks made `\\n`) and the name diagnostics use for it."""
    name = path.name if path.parent == Path() else str(path)
    try:
        data = path.read_bytes()
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
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")  # valid up to the bad byte
        lines = before.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        where = Location(name, len(lines), len(lines[-1]) + 1)
        raise CompileError(
            [
                Diagnostic(
                    where,
                    "error",
                    "yaml-encoding",
                    f"the manifest is not UTF-8: byte 0x{data[exc.start]:02x} here is not "
                    "part of a UTF-8 character",
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n"), name


def load_manifest(path: Path) -> Manifest:
    from .manifest import manifest_from_data

    return manifest_from_data(*load_yaml(*read_manifest(path)))


def build(path: Path, *, use_cache: bool = True, need_plan: bool = True) -> Build:
    """Everything `compile` would write for the manifest at `path`, written nowhere.

    The project's interpreter starts reading the project as soon as the manifest is loaded, and
    runs while the rest of kedro-gitops is imported and the manifest validated. When neither the
    manifest, the project nor kedro-gitops changed, the files come from the build cache (unless
    `need_plan`).
    """
    text, name = read_manifest(path)
    data, smap = load_yaml(text, name)
    where = path.resolve()  # generated files name the manifest by where it sits
    place = f"{name}\n{where}\n{repository_root(where.parent)}"
    root = path.parent
    early = ProjectRequest.from_data(data, smap.file)
    reading = Reading(early, root, use_cache=use_cache) if early else None
    if reading is not None and reading.from_cache and not need_plan:
        hit = cache.load(cache.build_key(text, place, reading.cache_key))
        if hit is not None:
            cached = Build.from_cache(hit, name, root)
            blocked = output_problems(root, cached.output, Location(name))
            if blocked:
                raise CompileError(blocked)
            return cached
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
    blocked = output_problems(root, manifest.output, manifest.output_at)
    try:
        plan = build_plan(manifest, snapshot)
    except CompileError as exc:
        raise CompileError([*exc.diagnostics, *blocked]) from None
    plan = replace(plan, manifest=manifest_id(path, manifest.output))
    from .workspace import check_checkout

    found = [*blocked, *check_checkout(plan, (root / manifest.project_path).resolve())]
    if found:
        problems = (*plan.diagnostics, *found)
        if has_errors(problems):
            raise CompileError(problems)
        plan = replace(plan, diagnostics=tuple(merged(problems)))
    result = Build(
        manifest.file,
        manifest.output,
        root / manifest.output,
        owner_line(plan.manifest),
        render_plan(plan),
        plan.diagnostics,
        plan,
    )
    if reading.cache_key:
        cache.store(cache.build_key(text, place, reading.cache_key), json.dumps(result.cached()))
    return result
