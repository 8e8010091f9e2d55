"""Findings and search paths are said once: a finding repeated for several DAGs or environments
names them all; each interpreter tried is listed once."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from kedro_gitops.diagnostics import CompileError, Diagnostic, Location, format_json, format_text
from kedro_gitops.interpreter import candidates


def test_the_same_finding_about_several_dags_is_merged() -> None:
    where = Location("pipelines.deploy.yaml", 6, 15)
    finding = Diagnostic(where, "error", "memory-crossing", "`mid` crosses tasks", "add a rule")
    other = Diagnostic(where, "error", "memory-crossing", "`end` crosses tasks", "add a rule")
    found = [
        finding.about("ds_prod", "prod"),
        finding.about("ds_staging", "staging"),
        finding.about("ds_prod", "prod"),
        other.about("ds_prod", "prod"),
    ]
    error = CompileError(found)
    assert len(error.diagnostics) == 2
    text = format_text(found)
    assert "`mid` crosses tasks (DAGs ds_prod, ds_staging; environments prod, staging)" in text
    assert "`end` crosses tasks (DAG ds_prod; environment prod)" in text
    assert text.endswith("2 error(s), 0 warning(s)")
    rows = json.loads(format_json(found))["diagnostics"]
    assert [(r["dags"], r["environments"]) for r in rows] == [
        (["ds_prod"], ["prod"]),
        (["ds_prod", "ds_staging"], ["prod", "staging"]),
    ]
    assert finding.about("a", "b").about("c", "d").dags == ("a",), "a finding keeps its DAG"


def test_the_interpreter_search_lists_each_path_once(tmp_path: Path) -> None:
    """A project at the repository root has one `.venv`: it is tried, and named, once."""
    os.environ["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    try:
        tried = candidates(tmp_path, tmp_path / "." / "sub" / "..")
    finally:
        del os.environ["VIRTUAL_ENV"]
    assert len(tried) == len(set(tried))
    assert tried.count(tmp_path / ".venv" / "bin" / "python") == 1
