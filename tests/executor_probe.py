"""Load a folder of DAG files in Airflow, render each task as Airflow would before running it, and
print what the operators would do as JSON: the pod request for KubernetesPodOperator (built by the
provider's own code, without a cluster), the resolved arguments of DockerOperator, and what the
callable of a PythonOperator runs.

    python executor_probe.py DAG_FOLDER
"""

from __future__ import annotations

import json
import sys

sys.modules["kedro"] = None  # type: ignore[assignment]  # Kedro must not be needed to parse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

CONTEXT = {
    "run_id": "manual__2026-11-21T00:00:00+00:00",
    "logical_date": "2026-11-21T00:00:00+00:00",
    "ds": "2026-11-21",
    "params": {},
    "ti": None,  # the task instance: a task of a DAG without a setup step reads nothing of it
}
SETTINGS = ("retries", "pool", "queue", "priority_weight", "trigger_rule")


def describe(task: object) -> dict:
    task.render_template_fields(dict(CONTEXT))  # type: ignore[attr-defined]
    out = {key: getattr(task, key) for key in SETTINGS}
    out["operator"] = type(task).__name__
    out["execution_timeout"] = str(getattr(task, "execution_timeout", None))
    out["retry_delay"] = str(getattr(task, "retry_delay", None))
    if hasattr(task, "build_pod_request_obj"):  # KubernetesPodOperator, GKEStartPodOperator
        from kubernetes.client import ApiClient

        pod = task.build_pod_request_obj(dry_run=True)  # type: ignore[attr-defined]
        out["pod"] = ApiClient().sanitize_for_serialization(pod)
        gke = ("project_id", "location", "cluster_name", "gcp_conn_id")
        out["cluster"] = {k: getattr(task, k) for k in gke if hasattr(task, k)}
    elif out["operator"] == "DockerOperator":
        keys = (
            "image",
            "command",
            "environment",
            "mounts",
            "cpus",
            "mem_limit",
            "network_mode",
            "auto_remove",
            "mount_tmp_dir",
            "do_xcom_push",
        )
        out["docker"] = {k: getattr(task, k) for k in keys}
        out["docker"]["mounts"] = [dict(m) for m in out["docker"]["mounts"]]
    elif out["operator"] == "PythonOperator":
        module = task.python_callable.__globals__  # type: ignore[attr-defined]
        out["python"] = {
            "callable": task.python_callable.__name__,  # type: ignore[attr-defined]
            "op_kwargs": task.op_kwargs,  # type: ignore[attr-defined]
            "do_xcom_push": task.do_xcom_push,  # type: ignore[attr-defined]
            **{
                k.lower(): module.get(k)
                for k in ("PYTHON", "KEDRO_RUN", "ENV", "WORKDIR", "PIPELINE", "KEDRO_ENV")
            },
        }
    return out


def main(folder: str) -> None:
    bag = DagBag(dag_folder=folder)
    result = {
        "import_errors": {k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()},
        "dags": {
            dag.dag_id: {task.task_id: describe(task) for task in dag.tasks}
            for dag in bag.dags.values()
        },
        "meta": {
            dag.dag_id: {
                "description": dag.description,
                "tags": sorted(dag.tags),
                "doc": dag.doc_md,
                "owners": sorted({task.owner for task in dag.tasks}),
            }
            for dag in bag.dags.values()
        },
    }
    print(json.dumps(result, sort_keys=True, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
