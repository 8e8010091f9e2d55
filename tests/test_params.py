"""Kedro parameters as Airflow Params, and notification callbacks: on the loaded DAG, and in a
triggered run whose Param values reach Kedro verbatim."""

from __future__ import annotations

import json
import textwrap

from conftest import BIN, CASES, run

FOLDER = CASES / "params_notifications" / "expected" / "dags"

LOAD = textwrap.dedent(
    """
    import json, sys
    sys.modules["kedro"] = None  # parsing must not need Kedro
    sys.modules["alerts"] = None  # nor the notification targets
    from airflow.dag_processing.dagbag import DagBag
    def names(found):
        found = found if isinstance(found, list) else [found] if found else []
        return [c.__name__ for c in found]
    bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()}, "dags": {}}
    for dag in bag.dags.values():
        task = dag.tasks[0]
        out["dags"][dag.dag_id] = {
            "params": {k: [dag.params.get_param(k).value, dag.params.get_param(k).schema]
                       for k in dag.params},
            "on_failure": names(dag.on_failure_callback),
            "on_success": names(dag.on_success_callback),
            "on_retry": names(task.on_retry_callback),
        }
    print(json.dumps(out))
    """
)


def test_params_and_callbacks_on_the_loaded_dag(airflow_env: dict[str, str]) -> None:
    proc = run([str(BIN / "python"), "-c", LOAD, str(FOLDER)], FOLDER, airflow_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["errors"] == {}
    base, prod = seen["dags"]["ml_base"], seen["dags"]["ml_prod_inproc"]
    assert base["params"] == {
        "model_options.test_size": [0.2, {"type": "number"}],
        "model_options.random_state": [3, {"type": "integer"}],
        "model_options.features": [["engines", "crew"], {"type": "array"}],
        "model_options.flags": [{"fast": True}, {"type": "object"}],
        "model_options.note": [None, {"type": ["null", "string"]}],
        "run_label": ['it\'s a "label", {{ ds }}', {"type": "string"}],
    }
    assert prod["params"] == {"model_options.test_size": [0.25, {"type": "number"}]}
    assert base["on_failure"] == ["notify(alerts.slack:notify_failure)"]
    assert base["on_success"] == []
    assert base["on_retry"] == ["notify(alerts.slack:SLACK.notify)"]
    assert prod["on_failure"] == ["notify(alerts.pager:page)"]
    assert prod["on_success"] == ["notify(alerts.slack:notify_success)"]
    assert prod["on_retry"] == ["notify(alerts.slack:SLACK.notify)"]
