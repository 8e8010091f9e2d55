"""Delivery into Airflow through an Airflow 3 GitDagBundle on a local bare repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import BIN, kedro_gitops, run
from gitrepo import git, init_repo


@pytest.fixture
def bundle_env(airflow_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    bundle = {
        "name": "repo",
        "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
        "kwargs": {
            "tracking_ref": "main",
            "subdir": "dags",
            "repo_url": str(tmp_path / "repo.git"),
        },
    }
    env = {
        **airflow_env,
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(tmp_path / "bundles"),
    }
    assert run([str(BIN / "airflow"), "db", "migrate"], tmp_path, env).returncode == 0
    return env


def airflow_sees(env: dict[str, str], cwd: Path) -> dict[str, dict[str, str]]:
    proc = run([str(BIN / "airflow"), "dags", "reserialize", "--bundle-name", "repo"], cwd, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = run([str(BIN / "airflow"), "dags", "list", "--output", "json"], cwd, env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = json.loads(next(line for line in listed.stdout.splitlines() if line.startswith("[")))
    return {row["dag_id"]: row for row in rows}


def test_airflow_reads_each_commit_from_the_bundle(
    checkout: Path, bundle_env: dict[str, str], tmp_path: Path
) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    first = init_repo(checkout)
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(tmp_path / "repo.git"))

    seen = airflow_sees(bundle_env, tmp_path)
    assert sorted(seen) == ["data_processing_base", "data_processing_prod", "data_science_prod"]
    for row in seen.values():
        assert row["bundle_name"] == "repo"
        assert row["bundle_version"] == first
        dag_file = Path(row["fileloc"])
        # The DAG file finds the Kedro project beside it, in the same checkout of the bundle.
        assert '"../examples/spaceflights"' in dag_file.read_text()
        assert (dag_file.parent.parent / "examples/spaceflights/pyproject.toml").is_file()

    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace("environments: [prod]", "environments: [base, prod]")
    )
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "data_science in base too")
    git(checkout, "push", "-q", str(tmp_path / "repo.git"), "main")
    second = git(checkout, "rev-parse", "HEAD").strip()

    seen = airflow_sees(bundle_env, tmp_path)
    assert "data_science_base" in seen
    assert {row["bundle_version"] for row in seen.values()} == {second}
    shutil.rmtree(tmp_path / "bundles", ignore_errors=True)
