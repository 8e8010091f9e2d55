"""A triggered run with a Param override changes what the Kedro run sees, for real: a Kedro hook
in the checkout records `context.params` of every Kedro run, and Airflow runs the DAGs with
`airflow dags test -c CONF` (subprocess and python executors), or the commands of Kubernetes
pods and Docker containers, as Airflow renders them, run here (container executors). The DAGs
have a setup step whose output every later task receives as a runtime parameter."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import BIN, copy_example, kedro_gitops, run

# Quotes, a comma and `a=b` (what `--params k=v,...` would split), shell substitutions, Jinja,
# an OmegaConf interpolation, backslashes (one alone, one before `${`).
NASTY = 'it\'s "quoted", a=b $(id) `id` {{ ds }} ${oc.env:HOME} C:\\temp \\${x}'

RECORD_HOOK = '''

import json as _json

from kedro.framework.hooks import hook_impl as _hook_impl


class _RecordParams:
    """Test instrumentation: one JSON line per Kedro run, with the parameters it saw."""

    @_hook_impl
    def after_context_created(self, context):
        self._seen = {"env": context.env, "params": context.params}

    @_hook_impl
    def before_pipeline_run(self, run_params):
        record = {
            **self._seen,
            "nodes": run_params["node_names"],
            "pipelines": run_params["pipeline_names"],
        }
        with open(RECORD, "a", encoding="utf-8") as f:
            f.write(_json.dumps(record) + "\\n")


RECORD = __RECORD__
HOOKS = (_RecordParams(),)
'''

# A setup pipeline, as a team would write one that starts an MLflow run: its output reaches every
# later task of the DAG as the runtime parameter `tracking_run`.
SETUP_PIPELINE = """

_project_pipelines = register_pipelines


def start_tracking(run_id, label):
    return f"tracking {run_id} {label}"


def register_pipelines():
    from kedro.pipeline import node

    found = _project_pipelines()
    found["start_tracking"] = Pipeline(
        [node(start_tracking, ["params:airflow_run_id", "params:run_label"], "tracking_run")]
    )
    return found
"""
SETUP = "    setup: {pipeline: start_tracking, outputs: [tracking_run]}\n"


def instrument(checkout: Path, record: Path) -> Path:
    """The example project in `checkout` with a `run_label` parameter (`plain`) and the hook
    that appends what each Kedro run sees to `record`; returns the project."""
    project = checkout / "examples/spaceflights"
    conf = project / "conf/base/parameters_data_processing.yml"
    assert yaml.safe_load(conf.read_text()) == {}  # the example's, before this test's parameter
    conf.write_text("run_label: plain\n")
    settings = project / "src/spaceflights/settings.py"
    settings.write_text(settings.read_text() + RECORD_HOOK.replace("__RECORD__", repr(str(record))))
    registry = project / "src/spaceflights/pipeline_registry.py"
    registry.write_text(registry.read_text() + SETUP_PIPELINE)
    return project


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def model_options(project: Path) -> dict:
    conf = yaml.safe_load((project / "conf/base/parameters_data_science.yml").read_text())
    return {namespace: conf[namespace]["model_options"] for namespace in conf}


class Deployment:
    """A compiled checkout with the hook, and its Airflow."""

    def __init__(self, root: Path, airflow_env: dict[str, str]) -> None:
        self.checkout = copy_example(root)
        self.record = root / "kedro-runs.jsonl"
        self.project = instrument(self.checkout, self.record)
        manifest = self.checkout / "pipelines.deploy.yaml"
        text = manifest.read_text().replace("/tmp/spaceflights", str(self.checkout / "outputs"))
        entry = "  - pipeline: data_processing\n    environments: [base, prod]\n"
        science = "  - pipeline: data_science\n    environments: [prod]\n"
        assert text.count(entry) == text.count(science) == 1
        text = text.replace(entry, entry + "    params: [run_label]\n" + SETUP)
        manifest.write_text(text.replace(science, science + SETUP))
        compiled = kedro_gitops("compile", cwd=self.checkout)
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        self.env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(self.checkout / "dags")}

    def dag_test(self, dag_id: str, conf: dict | None = None) -> tuple[dict, list[dict]]:
        """Run `dag_id` once; the run's id and logical date as Airflow logs them, and what its
        Kedro runs recorded."""
        done = len(records(self.record))
        args = ["-c", json.dumps(conf)] if conf is not None else []
        proc = run([str(BIN / "airflow"), "dags", "test", dag_id, *args], Path("/"), self.env)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-6000:]
        finished = re.search(
            rf"DagRun Finished: dag_id={dag_id}, logical_date=([^,]+), run_id=([^,]+),.*"
            r" state=(\w+)",
            log,
        )
        assert finished, log[-6000:]
        logical_date, run_id, state = finished.groups()
        assert state == "success"
        return {"run_id": run_id, "logical_date": logical_date}, records(self.record)[done:]


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, module_airflow_env: dict[str, str]
) -> Deployment:
    return Deployment(tmp_path_factory.mktemp("params-run"), module_airflow_env)


def after_setup(seen: list[dict], airflow_run: dict, label: str) -> list[dict]:
    """The Kedro runs of the tasks, checked to come after the one setup run and to have its
    output as a runtime parameter."""
    assert seen[0]["pipelines"] == ["start_tracking"]
    assert [r for r in seen if r["pipelines"] == ["start_tracking"]] == seen[:1]
    for record in seen[1:]:
        assert record["params"]["tracking_run"] == f"tracking {airflow_run['run_id']} {label}"
    return seen[1:]


def check_airflow_run(seen: list[dict], airflow_run: dict) -> None:
    for record in seen:
        assert record["params"]["airflow_run_id"] == airflow_run["run_id"]
        assert record["params"]["airflow_logical_date"] == airflow_run["logical_date"]
    assert airflow_run["run_id"].startswith("manual__")


def test_an_override_reaches_every_kedro_run_of_a_subprocess_dag(
    deployment: Deployment,
) -> None:
    """`kedro run --config`: each task's Kedro run sees the value exactly as given. The prod DAG,
    whose model input table the next test's DAG reads."""
    airflow_run, seen = deployment.dag_test("data_processing_prod", {"run_label": NASTY})
    seen = after_setup(seen, airflow_run, NASTY)
    assert sorted(r["nodes"] for r in seen) == [
        ["create_model_input_table_node"],
        ["preprocess_companies_node"],
        ["preprocess_shuttles_node"],
    ]
    for record in seen:
        assert record["env"] == "prod"
        assert record["params"]["run_label"] == NASTY
        # Parameters not on the form are the environment's.
        assert {
            k: v["model_options"]
            for k, v in record["params"].items()
            if k.endswith("_modelling_pipeline")
        } == model_options(deployment.project)
    check_airflow_run(seen, airflow_run)


def test_an_override_reaches_the_in_process_kedro_run(deployment: Deployment) -> None:
    """The python executor's KedroSession: the given test_size replaces only that key of
    model_options; without a conf, every value is the environment's."""
    table = deployment.checkout / "outputs/prod/03_primary/model_input_table.csv"
    if not table.is_file():  # run alone, without the test that writes it
        deployment.dag_test("data_processing_prod")
    conf = model_options(deployment.project)
    overridden = {
        "active_modelling_pipeline": {**conf["active_modelling_pipeline"], "test_size": 0.3},
        "candidate_modelling_pipeline": conf["candidate_modelling_pipeline"],
    }
    assert overridden != conf
    assert conf["candidate_modelling_pipeline"]["test_size"] == 0.25
    for given, expected in (
        ({"active_modelling_pipeline.model_options.test_size": 0.3}, overridden),
        (None, conf),
    ):
        airflow_run, seen = deployment.dag_test("data_science_prod", given)
        seen = after_setup(seen, airflow_run, "plain")
        assert sorted(r["nodes"][0].split(".")[0] for r in seen) == [
            "active_modelling_pipeline",
            "candidate_modelling_pipeline",
        ]
        for record in seen:
            params = record["params"]
            assert {k: params[k]["model_options"] for k in expected} == expected
            assert params["run_label"] == "plain"  # not a Param of this DAG: the conf's
        check_airflow_run(seen, airflow_run)


# Load the DAG folder as a worker would (Kedro cannot be imported), give one task the context of
# a triggered run with the override (params as Airflow merges and validates them) and a task
# instance holding what the setup task pushed to XCom, render it, and print the command the
# container would run: the pod's, built by the provider from the rendered task, or the Docker
# container's; and for a pod, its containers and where they mount the XCom volume.
RENDER_TASK = textwrap.dedent(
    """
    import json, sys
    sys.modules["kedro"] = None
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.param import process_params
    from kubernetes.client import ApiClient

    folder, dag_id, task_id, conf, pushed = sys.argv[1:]


    class TaskInstance:
        \"\"\"What the rendering reads of the task instance: its id and the setup task's XCom.\"\"\"

        task_id = task_id

        def xcom_pull(self, task_ids):
            assert task_ids == "kedro_setup", task_ids
            return json.loads(pushed)


    bag = DagBag(dag_folder=folder)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[dag_id]
    task = dag.get_task(task_id)
    logical_date = pendulum.datetime(2026, 11, 21, 3, tz="UTC")
    context = {
        "run_id": "manual__2026-11-21T03:00:00+00:00",
        "logical_date": logical_date,
        "ds": "2026-11-21",
        "params": process_params(dag, task, json.loads(conf), suppress_exception=False),
        "ti": TaskInstance(),
    }
    task.render_template_fields(context)
    out = {"run_id": context["run_id"], "logical_date": str(logical_date),
           "setup": task.is_setup, "xcom": task.do_xcom_push}
    if hasattr(task, "build_pod_request_obj"):
        pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
        containers = {c["name"]: c for c in pod["spec"]["containers"]}
        base = containers["base"]
        out.update(command=base["command"] + base["args"], image=base["image"],
                   env={e["name"]: e["value"] for e in base.get("env", [])},
                   containers=sorted(containers),
                   mounts=sorted(m["mountPath"] for m in base.get("volumeMounts", [])))
    else:
        out.update(command=list(task.command), image=task.image, env=task.environment)
    print(json.dumps(out))
    """
)

CONTAINERS_MANIFEST = """\
version: 1
project:
  path: examples/spaceflights
output: dags
environments:
  prod:
    kedro_env: prod
    env:
      SPACEFLIGHTS_DATA: {outputs}
      SPACEFLIGHTS_STAGE: production
executors:
  pods: {{type: kubernetes, image: "spaceflights:1", namespace: kedro}}
  containers: {{type: docker, image: "spaceflights:1"}}
dags:
  - pipeline: data_processing
    environments: [prod]
    executor: {executor}
    params: [run_label]
"""


def render_task(checkout: Path, env: dict[str, str], task_id: str, pushed: object = None) -> dict:
    conf = json.dumps({"run_label": NASTY})
    args = [str(checkout / "dags"), "data_processing_prod", task_id, conf, json.dumps(pushed)]
    proc = run([str(BIN / "python"), "-c", RENDER_TASK, *args], checkout, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def in_image(command: list[str], project: Path, rendered: dict, home: Path) -> str:
    """Run a container's command with real Kedro in the project directory (the image's working
    directory), with the container's environment and this venv's interpreter as the image's
    `python`, and no telemetry opt-out; its output, stdout and stderr as one stream."""
    assert rendered["image"] == "spaceflights:1"
    assert command[:2] == ["python", "-c"]
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **rendered["env"]}
    proc = subprocess.run(
        [str(BIN / "python"), *command[1:]], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def setup_pushes(executor: str, setup: dict, project: Path, home: Path) -> object:
    """Run the rendered setup task's command; what its operator reads back as its XCom: the
    pod's XCom file (read by the provider's sidecar), the container log's last line."""
    assert (setup["setup"], setup["xcom"]) == (True, True)
    command = setup["command"]
    assert "{{ ds }}" in json.loads(command[3])["run_label"]  # data in the rendered argument
    spec = json.loads(command[4])
    assert (spec["pipeline"], spec["outputs"]) == ("start_tracking", ["tracking_run"])
    if executor == "pods":
        from airflow.providers.cncf.kubernetes.utils.pod_manager import PodDefaults

        assert setup["containers"] == ["airflow-xcom-sidecar", "base"]
        assert PodDefaults.XCOM_MOUNT_PATH in setup["mounts"]
        assert spec["out"] == f"{PodDefaults.XCOM_MOUNT_PATH}/return.json"
        xcom_file = home / "return.json"  # where this machine has the pod's XCom volume
        command[4] = json.dumps({**spec, "out": str(xcom_file)})
        in_image(command, project, setup, home)
        return json.loads(xcom_file.read_text())
    from airflow.providers.docker.operators.docker import fetch_logs

    assert spec["out"] == "-"
    log = in_image(command, project, setup, home)
    return fetch_logs([log.encode()], logging.getLogger("container"))[-1]


@pytest.mark.parametrize("executor", ["pods", "containers"])
def test_an_override_and_the_setup_output_reach_kedro_in_a_container(
    executor: str, checkout: Path, airflow_env: dict[str, str], tmp_path: Path
) -> None:
    """A Kubernetes pod's or a Docker container's commands, as Airflow renders them, run on this
    machine: the setup task pushes its outputs the way the operator reads them back as XCom
    (the pod's XCom file; the container log's last line), and a later task's Kedro run sees
    that value and the override verbatim."""
    record = tmp_path / "kedro-runs.jsonl"
    project = instrument(checkout, record)
    outputs = tmp_path / "outputs"
    manifest = CONTAINERS_MANIFEST.format(outputs=outputs, executor=executor) + SETUP
    (checkout / "pipelines.deploy.yaml").write_text(manifest)
    compiled = kedro_gitops("compile", cwd=checkout)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    pyproject = (project / "pyproject.toml").read_text()
    home = tmp_path / "home"
    home.mkdir()

    setup = render_task(checkout, airflow_env, "kedro_setup")
    pushed = setup_pushes(executor, setup, project, home)
    expected = f"tracking {setup['run_id']} {NASTY}"
    assert (json.loads(pushed) if isinstance(pushed, str) else pushed) == {"tracking_run": expected}

    task = render_task(checkout, airflow_env, "preprocess_companies_node", pushed)
    assert (task["setup"], task["xcom"]) == (False, False)
    given = json.loads(task["command"][3])  # the one rendered argument: the runtime parameters
    assert given["airflow_run_id"] == task["run_id"]
    assert "{{ ds }}" in given["run_label"]  # data in the rendered argument, not a template
    assert given["tracking_run"].startswith(f"tracking {setup['run_id']} ")  # escaped for Kedro
    assert task["command"][4:] == [
        "run",
        "--pipelines",
        "data_processing",
        "--env",
        "prod",
        "--nodes",
        "preprocess_companies_node",
    ]
    assert task["env"] == {"SPACEFLIGHTS_DATA": str(outputs), "SPACEFLIGHTS_STAGE": "production"}
    in_image(task["command"], project, task, home)
    setup_run, seen = records(record)
    assert setup_run["pipelines"] == ["start_tracking"]
    assert seen["nodes"] == ["preprocess_companies_node"]
    assert seen["env"] == "prod"
    assert seen["params"]["run_label"] == NASTY
    assert seen["params"]["tracking_run"] == expected
    assert seen["params"]["airflow_run_id"] == task["run_id"]
    assert seen["params"]["airflow_logical_date"] == task["logical_date"]
    assert (outputs / "02_intermediate/preprocessed_companies.csv").is_file()
    assert (project / "pyproject.toml").read_text() == pyproject  # the commands disable telemetry
