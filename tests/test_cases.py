"""Golden cases: tests/cases/<name>/ holds a manifest and a project snapshot, and what they compile
to (expected/dags/*.py and expected/plan.txt) or the diagnostics they produce (expected/errors.txt).

Run `pytest tests/test_cases.py --update-goldens` to rewrite the expectations, then read the diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from kedro_gitops.cli import plan_text
from kedro_gitops.diagnostics import CompileError, format_text
from kedro_gitops.manifest import parse_manifest
from kedro_gitops.plan import Plan, build_plan
from kedro_gitops.render import render_plan
from kedro_gitops.snapshot import ProjectSnapshot

from conftest import CASES

MANIFEST = "pipelines.deploy.yaml"


def plan_case(case: Path) -> Plan:
    manifest = parse_manifest((case / MANIFEST).read_text("utf-8"), MANIFEST)
    snapshot = ProjectSnapshot.from_json(json.loads((case / "snapshot.json").read_text()))
    return build_plan(manifest, snapshot)


def compile_case(case: Path) -> dict[str, str]:
    """{expected/<path>: text} for one case, compiled without touching the disk."""
    try:
        plan = plan_case(case)
    except CompileError as exc:
        return {"errors.txt": format_text(exc.diagnostics) + "\n"}
    out = {f"dags/{name}": text for name, text in render_plan(plan).items()}
    summary = plan_text(plan)
    if plan.diagnostics:
        summary += "\n" + format_text(plan.diagnostics)
    out["plan.txt"] = summary + "\n"
    return out


def read_expected(case: Path) -> dict[str, str]:
    root = case / "expected"
    return {
        p.relative_to(root).as_posix(): p.read_text("utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def write_expected(case: Path, files: dict[str, str]) -> None:
    root = case / "expected"
    for old in root.rglob("*") if root.exists() else []:
        if old.is_file():
            old.unlink()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case(case: str, update_goldens: bool) -> None:
    path = CASES / case
    actual = compile_case(path)
    assert actual == compile_case(path), "compiling twice must give the same bytes"
    if update_goldens:
        write_expected(path, actual)
    expected = read_expected(path)
    diff = []
    for name in sorted(set(actual) | set(expected)):
        diff += difflib.unified_diff(
            expected.get(name, "").splitlines(keepends=True),
            actual.get(name, "").splitlines(keepends=True),
            f"expected/{name}",
            f"actual/{name}",
        )
    assert not diff, "".join(diff)
