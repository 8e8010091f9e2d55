"""A finding repeated for several DAGs or environments is said once, naming them all."""

from __future__ import annotations

import json

from kedro_gitops.diagnostics import CompileError, Diagnostic, Location, format_json, format_text


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
