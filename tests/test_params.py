"""Kedro parameters as Airflow Params, and notification callbacks: on the loaded DAG, and in a
triggered run whose Param values reach Kedro verbatim."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import BIN, CASES, kedro_gitops, run

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
            "params": {k: [dag.params.get_param(k).value, dag.params.get_param(k).schema,
                           dag.params.get_param(k).description] for k in dag.params},
            "on_failure": names(dag.on_failure_callback),
            "on_success": names(dag.on_success_callback),
            "on_retry": names(task.on_retry_callback),
            "deadline": [
                [type(d.reference).__name__, d.interval.total_seconds(), d.callback.path]
                for d in (dag.deadline if isinstance(dag.deadline, list) else [dag.deadline])
                if d
            ],
        }
    print(json.dumps(out))
    """
)


def form(default: object, kind: object, name: str, env: str = "base") -> list:
    """A Param as the trigger form shows it: default, schema (type, title), description."""
    title = {"run_label": "run_label"}.get(name) or f"{name.rsplit('.', 1)[1]} (model_options)"
    description = f"Kedro parameter {name}; by default, its value in environment {env}"
    return [default, {"type": kind, "title": title}, description]


def test_params_and_callbacks_on_the_loaded_dag(airflow_env: dict[str, str]) -> None:
    proc = run([str(BIN / "python"), "-c", LOAD, str(FOLDER)], FOLDER, airflow_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["errors"] == {}
    base, prod = seen["dags"]["ml_base"], seen["dags"]["ml_prod_inproc"]
    assert base["params"] == {
        "model_options.test_size": form(0.2, "number", "model_options.test_size", "base"),
        "model_options.random_state": form(3, "integer", "model_options.random_state", "base"),
        "model_options.features": form(["engines", "crew"], "array", "model_options.features"),
        "model_options.flags": form({"fast": True}, "object", "model_options.flags", "base"),
        "model_options.note": form(None, ["null", "string"], "model_options.note", "base"),
        "run_label": form('it\'s a "label", {{ ds }}', "string", "run_label", "base"),
    }
    assert prod["params"] == {
        "model_options.test_size": form(0.25, "number", "model_options.test_size", "prod")
    }
    assert base["on_failure"] == ["notify(alerts.slack:notify_failure)"]
    assert base["on_success"] == []
    assert base["on_retry"] == ["notify(alerts.slack:SLACK.notify)"]
    assert prod["on_failure"] == ["notify(alerts.pager:page)"]
    assert prod["on_success"] == ["notify(alerts.slack:notify_success)"]
    assert prod["on_retry"] == ["notify(alerts.slack:SLACK.notify)"]
    assert base["deadline"] == [["DagRunQueuedAtDeadline", 7200.0, "alerts.pager.late"]]
    assert prod["deadline"] == [["DagRunLogicalDateDeadline", 5400.0, "alerts.pager.late"]]


ALERTS = '''"""Test instrumentation: a failure callback."""

from airflow.sdk.bases.notifier import BaseNotifier  # only where Airflow runs: never imported

CALLS = []


def record(context):
    CALLS.append(context)


if BaseNotifier:
    NOTIFIER = record
'''


def test_notification_targets_are_looked_up_in_the_project(checkout: Path) -> None:
    """A target in the project's package is found without running its module (which imports
    Airflow, absent from many project environments); a typo, a missing module and a name
    defined nowhere are errors at their line in the manifest, and dags/ is left alone."""
    package = checkout / "examples/spaceflights/src/spaceflights"
    (package / "alerts.py").write_text(ALERTS)
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    good = (
        "  notifications: {on_failure: 'spaceflights.alerts:record', "
        "on_retry: 'spaceflights.alerts:NOTIFIER'}\n"
    )
    manifest.write_text(text.replace("  executor: local\n", "  executor: local\n" + good, 1))
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    compiled = {p.name: p.read_bytes() for p in (checkout / "dags").glob("*.py")}
    assert (
        'on_failure_callback=notify("spaceflights.alerts:record")'
        in (checkout / "dags/data_processing_base.py").read_text()
    )
    bad = good.replace("alerts:record", "alerts:recrod").replace(
        "spaceflights.alerts:NOTIFIER", "spaceflights.alarms:x"
    )
    manifest.write_text(text.replace("  executor: local\n", "  executor: local\n" + bad, 1))
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "unknown-notification" in line]
    line = next(i + 1 for i, t in enumerate(manifest.read_text().splitlines()) if "recrod" in t)
    assert lines == [
        f"pipelines.deploy.yaml:{line}:31: error[unknown-notification]: on_failure: "
        "`spaceflights.alerts:recrod` cannot be imported: module `spaceflights.alerts` defines "
        "no `recrod`",
        f"pipelines.deploy.yaml:{line}:71: error[unknown-notification]: on_retry: "
        "`spaceflights.alarms:x` cannot be imported: the project's interpreter finds no module "
        "`spaceflights.alarms`",
    ]
    assert {p.name: p.read_bytes() for p in (checkout / "dags").glob("*.py")} == compiled
