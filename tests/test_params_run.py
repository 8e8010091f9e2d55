"""A triggered run with a Param override changes what the Kedro run sees, for real: a Kedro hook
in the checkout records `context.params` of every Kedro run, and Airflow runs the DAGs with
`airflow dags test -c CONF` (subprocess and python executors), or a Kubernetes pod's command,
rendered and built by the provider's code, runs on this machine (container executors). The DAGs
have a setup step whose output every later task receives as a runtime parameter."""

from __future__ import annotations

import json
import os
import re
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
# a triggered run with the override (params as Airflow merges and validates them), render it and
# let the provider build its pod; print the container and what was rendered.
RENDER_POD = textwrap.dedent(
    """
    import json, sys
    sys.modules["kedro"] = None
    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.param import process_params
    from kubernetes.client import ApiClient

    folder, dag_id, task_id, conf = sys.argv[1:]
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
    }
    task.render_template_fields(context)
    pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
    [container] = pod["spec"]["containers"]
    print(json.dumps({"container": container, "run_id": context["run_id"],
                      "logical_date": str(logical_date)}))
    """
)

PODS_MANIFEST = """\
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
dags:
  - pipeline: data_processing
    environments: [prod]
    executor: pods
    params: [run_label]
"""


def test_an_override_reaches_kedro_through_a_pods_command(
    checkout: Path, airflow_env: dict[str, str], tmp_path: Path
) -> None:
    """The pod's command and arguments, as the provider builds them from the rendered task, run
    with real Kedro in the project directory (the image's working directory), with the pod's
    environment and this venv's interpreter as the image's `python`."""
    record = tmp_path / "kedro-runs.jsonl"
    project = instrument(checkout, record)
    outputs = tmp_path / "outputs"
    (checkout / "pipelines.deploy.yaml").write_text(PODS_MANIFEST.format(outputs=outputs))
    compiled = kedro_gitops("compile", cwd=checkout)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    conf = json.dumps({"run_label": NASTY})
    args = [str(checkout / "dags"), "data_processing_prod", "preprocess_companies_node", conf]
    proc = run([str(BIN / "python"), "-c", RENDER_POD, *args], tmp_path, airflow_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rendered = json.loads(proc.stdout.strip().splitlines()[-1])
    container = rendered["container"]
    assert container["image"] == "spaceflights:1"
    command = container["command"] + container["args"]
    assert command[:2] == ["python", "-c"]
    given = json.loads(command[3])  # the one rendered argument: the runtime parameters
    assert given["airflow_run_id"] == rendered["run_id"]
    assert "{{ ds }}" in given["run_label"]  # data in the rendered argument, not a template
    assert command[4:] == [
        "run",
        "--pipelines",
        "data_processing",
        "--env",
        "prod",
        "--nodes",
        "preprocess_companies_node",
    ]
    pod_env = {e["name"]: e["value"] for e in container["env"]}
    assert pod_env == {"SPACEFLIGHTS_DATA": str(outputs), "SPACEFLIGHTS_STAGE": "production"}

    pyproject = (project / "pyproject.toml").read_text()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **pod_env}  # no telemetry opt-out
    kedro = run([str(BIN / "python"), *command[1:]], project, env)
    assert kedro.returncode == 0, kedro.stdout[-3000:] + kedro.stderr[-3000:]
    [seen] = records(record)
    assert seen["nodes"] == ["preprocess_companies_node"]
    assert seen["env"] == "prod"
    assert seen["params"]["run_label"] == NASTY
    assert seen["params"]["airflow_run_id"] == rendered["run_id"]
    assert seen["params"]["airflow_logical_date"] == rendered["logical_date"]
    assert (outputs / "02_intermediate/preprocessed_companies.csv").is_file()
    assert (project / "pyproject.toml").read_text() == pyproject  # the command disables telemetry
