"""`plan --against REV`: what a pull request changes in the DAGs, read from a real git history."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kedro_gitops.review import parse_dag_file, summarize

from conftest import ROOT, kedro_gitops
from gitrepo import init_repo

COMMITTED = {p.name: p.read_text() for p in sorted((ROOT / "dags").glob("*.py"))}


def test_generated_files_parse_back_into_their_tables() -> None:
    facts = parse_dag_file(COMMITTED["data_processing_prod.py"])
    assert facts is not None
    assert facts.dag_id == "data_processing_prod"
    assert facts.operator == "PythonOperator"
    assert facts.tasks["preprocess_companies_node"] == ("preprocess_companies_node",)
    assert ("preprocess_shuttles_node", "create_model_input_table_node") in facts.edges
    assert facts.settings["schedule"] == '"0 3 * * *"'
    assert facts.settings["retries"] == "2"
    assert parse_dag_file("# not a DAG\n") is None
    assert not summarize(COMMITTED, COMMITTED)


def test_plan_against_a_revision(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    init_repo(checkout)
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    text = text.replace('"0 3 * * *"', '"0 5 * * *"')
    text = text.replace("environments: [prod]", "environments: [base, prod]")
    text = re.sub(
        r"      - by: memory .*",
        "      - {by: group, name: shuttles, nodes: [preprocess_shuttles_node, "
        "create_model_input_table_node]}",
        text,
        count=1,
    )
    manifest.write_text(text)

    proc = kedro_gitops("plan", "--against", "HEAD", cwd=checkout)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "DAG changes against HEAD:"
    assert "  + data_science_base (new DAG)" in lines
    assert "      task renamed: preprocess_shuttles_node_group -> shuttles" in lines
    assert '      schedule: "0 3 * * *" -> "0 5 * * *"' in lines
    assert "      tasks removed: create_model_input_table_node, preprocess_shuttles_node" in lines
    assert "      edge removed: preprocess_shuttles_node >> create_model_input_table_node" in lines

    markdown = kedro_gitops("plan", "--against", "HEAD", "--format", "markdown", cwd=checkout)
    assert markdown.stdout.startswith("### kedro-gitops: DAG changes against `HEAD`")
    assert "- :new: `data_science_base` (new DAG)" in markdown.stdout
    data = json.loads(
        kedro_gitops("plan", "--against", "HEAD", "--format", "json", cwd=checkout).stdout
    )
    assert data["added"] == ["data_science_base"]
    assert [c["dag_id"] for c in data["changed"]] == [
        "data_processing_base",
        "data_processing_prod",
    ]
    assert not (checkout / "dags/data_science_base.py").exists(), "plan writes nothing"

    unknown = kedro_gitops("plan", "--against", "no-such-branch", cwd=checkout)
    assert unknown.returncode == 2
    assert "error[unknown-revision]: unknown git revision `no-such-branch`" in unknown.stderr


def test_check_reports_generated_files_that_git_does_not_track(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    init_repo(checkout)
    assert kedro_gitops("check", cwd=checkout).returncode == 0
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(manifest.read_text().replace("[prod]", "[base, prod]"))
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == 1
    assert "data_science_base.py (untracked)" in proc.stderr


def test_summary_of_executor_resource_and_task_setting_changes() -> None:
    """Same pipeline, two executors: the docker DAG against the subprocess one (goldens)."""
    folder = ROOT / "tests/cases/executors/expected/dags"
    old = {"ml.py": (folder / "ml_laptop.py").read_text()}
    new_text = (folder / "ml_docker.py").read_text().replace('"ml_docker"', '"ml_laptop"')
    [change] = summarize(old, {"ml.py": new_text}).changed
    assert ("executor", "PythonOperator", "DockerOperator") in change.settings
    assert change.tasks_added == ["train", "train_gpu"]
    assert change.tasks_removed == ["training"]
    assert ("evaluate", "resources", "-", "'default'") in change.task_settings
    assert ("report_ds", "retries", "0", "0") not in change.task_settings


def test_summary_names_what_decides_whether_a_task_runs() -> None:
    """Executor options, not only the operator class: interpreter, image, project dir, env."""
    folder = ROOT / "tests/cases/executors/expected/dags"
    pods = (folder / "ml_prod.py").read_text()
    moved = (
        pods.replace('"namespace": "ml-jobs"', '"namespace": "ml-batch"')
        .replace('PYTHON = "python"', 'PYTHON = "/opt/py/bin/python"')
        .replace('"STAGE": "prod"', '"STAGE": "canary"')
    )
    assert moved.count("ml-batch") == 1
    [change] = summarize({"a.py": pods}, {"a.py": moved}).changed
    assert ("pod.namespace", '"ml-jobs"', '"ml-batch"') in change.settings
    assert ("interpreter", '"python"', '"/opt/py/bin/python"') in change.settings
    assert ("env.STAGE", '"prod"', '"canary"') in change.settings
    local = (folder / "ml_staging.py").read_text()
    [change] = summarize(
        {"a.py": local}, {"a.py": local.replace("/opt/venvs/ml", "/srv/ml")}
    ).changed
    assert ("interpreter", '"/opt/venvs/ml/bin/python"', '"/srv/ml/bin/python"') in change.settings
