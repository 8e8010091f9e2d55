"""Executors for real: the provider's own code builds each pod request (no cluster needed) and
resolves each DockerOperator and BashOperator, in an Airflow where Kedro cannot be imported."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import BIN, CASES, ROOT, run

FOLDER = CASES / "executors" / "expected" / "dags"
DIGEST = "registry.example.com/ml@sha256:" + "0123456789abcdef" * 4
MOMENT = "2026-11-21T00:00:00+00:00"
# The runtime parameters as the pod's first argument renders them: JSON, read by KEDRO_MAIN.
PARAMS = json.dumps(
    {"airflow_logical_date": MOMENT, "airflow_run_id": f"manual__{MOMENT}"}, sort_keys=True
)


@pytest.fixture(scope="module")
def seen(module_airflow_env: dict[str, str]) -> dict[str, Any]:
    proc = run(
        [str(BIN / "python"), str(CASES.parent / "executor_probe.py"), str(FOLDER)],
        FOLDER,
        module_airflow_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["import_errors"] == {}
    return result["dags"]


def container(pod: dict[str, Any]) -> dict[str, Any]:
    [only] = pod["spec"]["containers"]
    return only


def test_kubernetes_pod_per_task(seen: dict[str, Any]) -> None:
    dag = seen["ml_prod"]
    assert sorted(dag) == ["evaluate", "prepare", "report_ds", "split", "training"]
    for task_id, task in dag.items():
        pod = task["pod"]
        box = container(pod)
        assert pod["metadata"]["namespace"] == "ml-jobs"
        assert box["image"] == DIGEST
        assert box["command"][:2] == ["python", "-c"]
        assert "KEDRO_LOGGING_CONFIG" in box["command"][2]  # Kedro's plain logging, no Rich
        assert box["args"][:6] == [PARAMS, "run", "--pipelines", "ml", "--env", "prod"]
        env = {e["name"]: e.get("value") or e["valueFrom"]["secretKeyRef"] for e in box["env"]}
        assert env == {
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
            "STAGE": "prod",
            "DB_PASSWORD": {"key": "password", "name": "db-creds"},
        }
        assert box["envFrom"] == [{"configMapRef": {"name": "ml-config"}}]
        assert [v["secret"]["secretName"] for v in pod["spec"]["volumes"]] == ["gcp-sa"]
        assert box["volumeMounts"][0]["mountPath"] == "/var/secrets/gcp"
        assert pod["spec"]["serviceAccountName"] == "kedro-runner"
        assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
        assert pod["spec"]["nodeSelector"] == {"pool": "batch"}
        assert pod["spec"]["tolerations"][0]["key"] == "dedicated"
        terms = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]
        assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["a", "b"]
        assert pod["metadata"]["labels"]["team"] == "ml"
        assert task_id.replace("_", "-") in pod["metadata"]["name"]

    assert container(dag["training"]["pod"])["args"][6:] == ["--nodes", "train,train_gpu"]
    # A node name with Jinja in it stays data; the run id in the parameters is rendered.
    assert container(dag["report_ds"]["pod"])["args"][6:] == ["--nodes", "report {{ ds }}"]


def test_resources_by_tag_and_merged_with_largest(seen: dict[str, Any]) -> None:
    dag = seen["ml_prod"]
    assert container(dag["prepare"]["pod"])["resources"] == {
        "limits": {},
        "requests": {"cpu": "500m", "memory": "1Gi"},
    }
    # `train` asks machine-large, `train_gpu` machine-gpu: `merge: largest` takes the max of each.
    assert container(dag["training"]["pod"])["resources"] == {
        "limits": {"memory": "16Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "4", "memory": "16Gi"},
    }


def test_task_settings_by_tag_and_glob(seen: dict[str, Any]) -> None:
    training, report, prepare = (seen["ml_prod"][t] for t in ("training", "report_ds", "prepare"))
    assert (training["pool"], training["queue"], training["priority_weight"]) == (
        "gpu-pool",
        "heavy",
        10,
    )
    assert training["retry_delay"] == "0:15:00"
    assert (report["retries"], report["trigger_rule"]) == (0, "all_done")
    assert (prepare["retries"], prepare["trigger_rule"]) == (1, "all_success")
    assert all(t["execution_timeout"] == "2:00:00" for t in seen["ml_prod"].values())


def test_docker_operator_arguments(seen: dict[str, Any]) -> None:
    train = seen["ml_docker"]["train"]["docker"]
    assert train["image"] == "ml:1.4.2"
    assert train["command"][:2] == ["python", "-c"]
    assert train["command"][3:] == [
        PARAMS,
        "run",
        "--pipelines",
        "ml",
        "--env",
        "base",
        "--nodes",
        "train",
    ]
    assert train["environment"] == {"STAGE": "docker"}
    assert train["mounts"] == [
        {"source": "/srv/ml/data", "target": "/project/data", "type": "bind"}
    ]
    assert (train["cpus"], train["mem_limit"]) == (4.0, 16 * 2**30)
    assert (train["network_mode"], train["auto_remove"]) == ("bridge", "force")
    prepare = seen["ml_docker"]["prepare"]["docker"]
    assert (prepare["cpus"], prepare["mem_limit"]) == (1.0, 2 * 2**30)
    assert train["do_xcom_push"] is False  # no meaningless XCom of the last log line


def test_executor_per_environment(seen: dict[str, Any]) -> None:
    assert {t["operator"] for t in seen["ml_prod"].values()} == {"KubernetesPodOperator"}
    staging = seen["ml_staging"]["report_ds"]["python"]
    assert staging["python"] == "/opt/venvs/ml/bin/python"
    assert staging["kedro_run"] == ["-m", "kedro", "run", "--pipelines", "ml", "--env", "base"]
    assert staging["op_kwargs"] == {"nodes": ["report {{ ds }}"]}  # rendered: still data
    assert staging["env"] == {"PYTHONUNBUFFERED": "1"}
    assert staging["do_xcom_push"] is False
    laptop = seen["ml_laptop"]["split"]["python"]
    assert laptop["callable"] == "run_kedro"
    assert laptop["python"] == seen_python(), "default: the interpreter running the task"


def seen_python() -> str:
    proc = run([str(BIN / "python"), "-c", "import sys; print(sys.executable)"], ROOT)
    return proc.stdout.strip()


def test_each_runtime_finds_project_and_interpreter(airflow_env: dict[str, str]) -> None:
    folder = CASES / "runtimes" / "expected" / "dags"
    env = {**airflow_env, "SHOP_PYTHON": "/opt/shop/bin/python"}
    proc = run(
        [str(BIN / "python"), str(CASES.parent / "executor_probe.py"), str(folder)], folder, env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["import_errors"] == {}
    dags = result["dags"]
    tasks = {dag_id: dag["train"] for dag_id, dag in dags.items()}
    assert tasks["training_worker"]["python"]["python"] == seen_python()
    assert tasks["training_pinned"]["python"]["python"] == "/opt/venvs/shop/bin/python"
    assert tasks["training_by_variable"]["python"]["python"] == "/opt/shop/bin/python"
    wheel = tasks["training_wheel"]["python"]
    assert wheel["kedro_run"] == [
        "-m", "shop", "--pipelines", "training", "--env", "prod",
        "--conf-source", "/opt/airflow/conf/conf-shop.tar.gz",
    ]  # fmt: skip
    in_process = tasks["training_wheel_in_process"]["python"]
    assert (in_process["callable"], in_process["workdir"]) == ("run_kedro_nodes", "/srv/shop/work")
    composer = tasks["training_composer"]
    assert composer["operator"] == "GKEStartPodOperator"
    box = container(composer["pod"])
    assert box["command"][:2] == ["python", "-c"]
    assert box["args"][1:6] == ["run", "--pipelines", "training", "--env", "prod"]
    assert box["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert composer["pod"]["metadata"]["namespace"] == "shop"


def test_task_settings_reach_airflow_in_the_example(airflow_env: dict[str, str]) -> None:
    folder = ROOT / "dags"
    proc = run(
        [str(BIN / "python"), str(CASES.parent / "executor_probe.py"), str(folder)],
        folder,
        airflow_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    dags = json.loads(proc.stdout.strip().splitlines()[-1])["dags"]
    for task in dags["data_science_prod"].values():  # tagged `training`: tasks[0] of the manifest
        assert (task["retries"], task["priority_weight"]) == (3, 10)
        assert task["execution_timeout"] == "0:30:00"
    for task in dags["data_processing_prod"].values():  # the manifest's defaults
        assert (task["retries"], task["retry_delay"]) == (2, "0:05:00")
        assert task["execution_timeout"] == "None"
