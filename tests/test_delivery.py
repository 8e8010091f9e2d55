"""Delivery into Airflow through an Airflow 3 GitDagBundle on a local bare repository."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def airflow_running(env: dict[str, str], logs: Path) -> Iterator[None]:
    """Airflow's API server (the tasks' Execution API), scheduler and DAG processor."""
    procs = []
    with contextlib.ExitStack() as files:
        try:
            for component in ("api-server", "scheduler", "dag-processor"):
                out = files.enter_context((logs / f"{component}.log").open("w"))
                procs.append(
                    subprocess.Popen(
                        [str(BIN / "airflow"), component],
                        cwd=logs,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            yield
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def airflow_json(env: dict[str, str], *args: str) -> Any:
    proc = run([str(BIN / "airflow"), *args, "--output", "json"], Path("/"), env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("[")))


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def run_dag(env: dict[str, str], dag_id: str, version: str, logs: Path) -> dict[str, Any]:
    """Trigger `dag_id` once the DAG processor has read bundle `version`; wait for the run."""

    def serialized() -> bool:
        rows = airflow_json(env, "dags", "list")
        return any(r["dag_id"] == dag_id and r["bundle_version"] == version for r in rows)

    wait_for(serialized, f"{dag_id} at bundle version {version}")
    run_id = f"delivered__{version[:8]}"
    proc = run([str(BIN / "airflow"), "dags", "trigger", dag_id, "-r", run_id], Path("/"), env)
    assert proc.returncode == 0, proc.stderr[-2000:]

    def finished() -> dict[str, Any] | None:
        rows = airflow_json(env, "dags", "list-runs", dag_id)
        row = next((r for r in rows if r["run_id"] == run_id), None)
        return row if row and row["state"] in ("success", "failed") else None

    try:
        row: dict[str, Any] = wait_for(finished, f"run {run_id} of {dag_id}")
    except AssertionError:
        raise AssertionError(tail_logs(logs)) from None
    assert row["state"] == "success", tail_logs(logs)
    with contextlib.closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        [(pinned,)] = db.execute(
            "SELECT bundle_version FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
        ).fetchall()
    return {**row, "bundle_version": pinned}


def tail_logs(logs: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.rglob("*.log")))


def test_a_merged_commit_runs_under_airflow_from_the_bundle(
    checkout: Path, bundle_env: dict[str, str], tmp_path: Path
) -> None:
    """The user's loop for real: Airflow's scheduler and DAG processor read a GitDagBundle (only
    committed files: no .venv, no git-ignored data), a triggered run succeeds with the worker's
    own interpreter, then a pushed commit that changes a node and names the interpreter by a
    variable the worker sets runs as a new bundle version. Outputs land where the catalog says."""
    outputs, logs = tmp_path / "outputs", tmp_path / "logs"
    logs.mkdir()
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(manifest.read_text().replace("/tmp/spaceflights", str(outputs)))
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    (checkout / ".gitignore").write_text(".venv/\n")
    first = init_repo(checkout)
    bare = tmp_path / "repo.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    port = free_port()
    env = {
        **bundle_env,
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # nothing of the test's virtual environment
        "SPACEFLIGHTS_PYTHON": str(BIN / "python"),  # what the second commit asks the worker for
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "kedro-gitops-test",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs / "tasks"),
    }
    table = outputs / "prod/03_primary/model_input_table.csv"
    with airflow_running(env, logs):
        row = run_dag(env, "data_processing_prod", first, logs)
        assert row["bundle_version"] == first
        assert "gitops_check" not in table.read_text().splitlines()[0]
        bundles = tmp_path / "bundles"
        assert not list(bundles.rglob("model_input_table.csv")), "outputs left the catalog"

        nodes = (
            checkout / "examples/spaceflights/src/spaceflights/pipelines/data_processing/nodes.py"
        )
        nodes.write_text(nodes.read_text() + CHANGED_NODE)
        text = manifest.read_text().replace(
            "type: subprocess ", "type: subprocess\n    python: {env: SPACEFLIGHTS_PYTHON}\n    # "
        )
        manifest.write_text(text)
        assert kedro_gitops("compile", cwd=checkout).returncode == 0
        dag_file = (checkout / "dags/data_processing_prod.py").read_text()
        assert 'PYTHON = os.environ.get("SPACEFLIGHTS_PYTHON", "")' in dag_file
        git(checkout, "add", "-A")
        git(checkout, "commit", "-q", "-m", "a changed node, the interpreter from the worker")
        git(checkout, "push", "-q", str(bare), "main")
        second = git(checkout, "rev-parse", "HEAD").strip()
        row = run_dag(env, "data_processing_prod", second, logs)
        assert row["bundle_version"] == second
    assert "gitops_check" in table.read_text().splitlines()[0]


CHANGED_NODE = """

_original_create_model_input_table = create_model_input_table


def create_model_input_table(shuttles, companies, reviews):  # noqa: F811
    table = _original_create_model_input_table(shuttles, companies, reviews)
    table["gitops_check"] = 2
    return table
"""
