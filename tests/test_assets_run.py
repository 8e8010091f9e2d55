"""Two DAGs chained by an Asset, for real: `data_processing_prod` writes the model input table,
Airflow records the Asset event and queues `data_science_prod` (scheduled on that Asset), and a
real scheduler turns the queue entry into a run that reads the table."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

from conftest import BIN, kedro_gitops, run

TABLE = "spaceflights.prod.model_input_table"
INACTIVE = "AirflowInactiveAssetInInletOrOutletException"
WAIT = 90  # seconds for the scheduler to run the downstream DAG from the Asset event

# What Airflow's metadata DB says, through Airflow's own models: Asset events, the queue the
# scheduler turns into Asset-triggered runs, the runs and their task instances. With a timeout,
# waits first until `data_science_prod` has a finished run (or the time is up).
STATE = textwrap.dedent(
    """
    import json, sys, time
    from sqlalchemy import select
    from airflow.models.asset import AssetDagRunQueue, AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    def value(v):
        return None if v is None else str(getattr(v, "value", v))

    def state():
        with create_session() as s:
            return {
                "events": [
                    {"id": e.id, "asset": e.asset.name, "uri": e.asset.uri,
                     "dag_id": e.source_dag_id, "task_id": e.source_task_id,
                     "run_id": e.source_run_id, "at": e.timestamp.isoformat()}
                    for e in s.scalars(select(AssetEvent).order_by(AssetEvent.id))
                ],
                "queue": [
                    {"asset": q.asset.name, "dag_id": q.target_dag_id}
                    for q in s.scalars(select(AssetDagRunQueue))
                ],
                "runs": [
                    {"dag_id": r.dag_id, "run_id": r.run_id, "run_type": value(r.run_type),
                     "state": value(r.state), "start": r.start_date.isoformat(),
                     "end": r.end_date.isoformat() if r.end_date else None,
                     "consumed": sorted(e.id for e in r.consumed_asset_events)}
                    for r in s.scalars(select(DagRun).order_by(DagRun.id))
                ],
                "tasks": sorted(
                    [t.dag_id, t.task_id, t.run_id, value(t.state)]
                    for t in s.scalars(select(TaskInstance))
                ),
            }

    deadline = time.monotonic() + float(sys.argv[1])
    seen = state()
    while time.monotonic() < deadline and not any(
        r["dag_id"] == "data_science_prod" and r["state"] in ("success", "failed")
        for r in seen["runs"]
    ):
        time.sleep(1)
        seen = state()
    print(json.dumps(seen))
    """
)


def metadata(env: dict[str, str], wait: float = 0) -> dict:
    proc = run([str(BIN / "python"), "-c", STATE, str(wait)], Path("/"), env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """An Airflow component in a process group of its own (so that it stops with its workers)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "airflow"), *args],
            cwd="/",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for_health(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not healthy after 60 s: {log.read_text(errors='replace')[-3000:]}")


def deployment(checkout: Path, airflow_env: dict[str, str]) -> dict[str, str]:
    """Compile the checkout (outputs in it) and return the environment of its Airflow: its DAG
    folder, an API server on a free port whose execution API the scheduler's tasks call."""
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace("/tmp/spaceflights", str(checkout / "outputs"))
    )
    compiled = kedro_gitops("compile", cwd=checkout)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert "schedule=AssetAll(ASSET[" in (checkout / "dags/data_science_prod.py").read_text()
    api_port, log_port = free_port(), free_port()
    return {
        **airflow_env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(checkout / "dags"),
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": "kedro-gitops-test-secret",  # scheduler and API agree
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
    }


def check_upstream(seen: dict, table_file: Path) -> tuple[dict, dict]:
    """The upstream run, and the Asset event of the table it wrote."""
    [first] = seen["runs"]
    assert (first["dag_id"], first["state"]) == ("data_processing_prod", "success")
    events = {e["asset"]: e for e in seen["events"]}
    assert set(events) == {
        TABLE,
        "spaceflights.prod.preprocessed_companies",
        "spaceflights.prod.preprocessed_shuttles",
    }
    table = events[TABLE]
    assert table["uri"] == table_file.as_uri()
    assert (table["dag_id"], table["task_id"], table["run_id"]) == (
        "data_processing_prod",
        "create_model_input_table_node",
        first["run_id"],
    )
    # What the scheduler turns into a run: data_science_prod queued by the table, only that.
    assert seen["queue"] == [{"asset": TABLE, "dag_id": "data_science_prod"}]
    return first, table


def check_downstream(after: dict, first: dict, table: dict, logs: str) -> None:
    """One Asset-triggered run of data_science_prod, started after the upstream run ended,
    created by the table's event, with every task successful."""
    downstream = [r for r in after["runs"] if r["dag_id"] == "data_science_prod"]
    assert downstream, f"no data_science_prod run within {WAIT} s: {logs[-6000:]}"
    [second] = downstream
    assert second["state"] == "success", logs[-6000:]
    assert second["run_type"] == "asset_triggered"
    assert second["consumed"] == [table["id"]]
    assert second["start"] > first["end"]
    assert after["queue"] == []  # consumed, not left for another run
    assert [t[1:] for t in after["tasks"] if t[0] == "data_science_prod"] == [
        ["active_modelling_pipeline", second["run_id"], "success"],
        ["candidate_modelling_pipeline", second["run_id"], "success"],
    ]
    assert len(after["runs"]) == 2  # the paused data_processing DAGs were not started


def test_an_asset_event_of_one_dag_runs_the_next(
    checkout: Path, airflow_env: dict[str, str], tmp_path: Path
) -> None:
    env = deployment(checkout, airflow_env)
    airflow = str(BIN / "airflow")
    prod = checkout / "outputs/prod"
    api_log, scheduler_log = tmp_path / "api-server.log", tmp_path / "scheduler.log"
    # The API server starts while the upstream DAG runs.
    api = start(["api-server", "--port", env["AIRFLOW__API__PORT"]], env, api_log)
    scheduler = None
    try:
        # What the dag-processor does: every DAG of the folder in the metadata DB, so Airflow
        # knows that data_science_prod is scheduled on the table. Only the downstream DAG is
        # unpaused: the scheduler must not start data_processing on its cron.
        for args in (["dags", "reserialize"], ["dags", "unpause", "data_science_prod"]):
            proc = run([airflow, *args], Path("/"), env)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

        upstream = run([airflow, "dags", "test", "data_processing_prod"], Path("/"), env)
        upstream_log = upstream.stdout + upstream.stderr
        assert upstream.returncode == 0, upstream_log[-6000:]
        assert "state=success" in upstream_log
        table_file = prod / "03_primary/model_input_table.csv"
        written = table_file.stat().st_mtime
        first, table = check_upstream(metadata(env), table_file)
        assert not (prod / "06_models").exists()  # nothing has run data_science yet

        # The scheduler starts once the execution API answers, so that no first try fails on a
        # refused connection (and waits for its retry delay).
        health = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] + "health"
        wait_for_health(health, api, api_log)
        scheduler = start(["scheduler"], env, scheduler_log)
        after = metadata(env, wait=WAIT)
    finally:
        if scheduler is not None:
            stop(scheduler)
        stop(api)
    logs = scheduler_log.read_text(errors="replace")
    check_downstream(after, first, table, logs)

    # The downstream run read the table the first one wrote, and wrote its models after it.
    for namespace in ("active_modelling_pipeline", "candidate_modelling_pipeline"):
        for output in (
            prod / f"06_models/regressor_{namespace}.pickle",
            prod / f"08_reporting/metrics_{namespace}.json",
        ):
            assert output.stat().st_mtime > written
    home_logs = Path(env["AIRFLOW_HOME"]) / "logs"
    attempts = {
        f"{p.parent.name}/{p.name}": p.read_text(errors="replace")
        for p in (home_logs / "dag_id=data_science_prod").rglob("attempt=*.log")
    }
    assert sorted(attempts) == [  # one try each: no task failed first
        "task_id=active_modelling_pipeline/attempt=1.log",
        "task_id=candidate_modelling_pipeline/attempt=1.log",
    ]
    for text in attempts.values():
        events = [json.loads(line).get("event") for line in text.splitlines() if line[:1] == "{"]
        assert "Loading data from model_input_table (CSVDataset)..." in events
    every_log = [p.read_text(errors="replace") for p in home_logs.rglob("*") if p.is_file()]
    for text in (upstream_log, logs, *every_log):
        assert INACTIVE not in text
