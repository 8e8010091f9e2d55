"""Generated DAG files in real Airflow 3: DagBag import, structure, and `airflow dags test`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kedro_gitops.cli import main as cli_main
from kedro_gitops.plan import SETUP_TASK

from conftest import BIN, CASES, ROOT, kedro_gitops, run
from test_cases import compile_case, plan_case

PROBE = ROOT / "tests" / "airflow_probe.py"
GOLDEN_DAG_DIRS = sorted(p for p in CASES.glob("*/expected/dags") if p.is_dir())


def probe(folder: Path, env: dict[str, str]) -> dict:
    proc = run([str(BIN / "python"), str(PROBE), str(folder)], folder, env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plan_json(manifest: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli_main(["plan", "--format", "json", "--manifest", str(manifest)]) == 0
    return json.loads(capsys.readouterr().out)


def expected_structure(plan: dict) -> dict[str, tuple[list[str], list[list[str]]]]:
    return {
        d["dag_id"]: (
            sorted(t["task_id"] for t in d["tasks"]),
            sorted([e["upstream"], e["downstream"]] for e in d["edges"]),
        )
        for d in plan["dags"]
    }


def test_committed_dags_load_with_the_planned_tasks_and_edges(
    airflow_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    seen = probe(ROOT / "dags", airflow_env)
    assert seen["import_errors"] == {}
    assert seen["kedro_imported"] is False, "parsing a DAG file must not import Kedro"
    assert seen["uri_handlers_loaded"] is False
    planned = expected_structure(plan_json(ROOT / "pipelines.deploy.yaml", capsys))
    assert {k: (v["tasks"], v["edges"]) for k, v in seen["dags"].items()} == planned
    assert seen["dags"]["data_processing_base"]["operators"] == ["PythonOperator"]
    assert seen["dags"]["data_science_prod"]["operators"] == ["PythonOperator"]


@pytest.mark.parametrize("folder", GOLDEN_DAG_DIRS, ids=lambda p: p.parent.parent.name)
def test_golden_dags_load_without_errors(folder: Path, airflow_env: dict[str, str]) -> None:
    seen = probe(folder, airflow_env)
    assert seen["import_errors"] == {}
    assert seen["kedro_imported"] is False
    assert sorted(v["file"] for v in seen["dags"].values()) == sorted(
        p.name for p in folder.glob("*.py")
    )
    plan = plan_case(folder.parent.parent)
    assert {k: (v["tasks"], v["edges"]) for k, v in seen["dags"].items()} == {
        d.dag_id: with_setup(
            d.setup is not None, sorted(t.task_id for t in d.tasks), sorted(map(list, d.edges))
        )
        for d in plan.dags
    }
    setups = {k: v["setup"] for k, v in seen["dags"].items() if v["setup"]}
    assert setups == {d.dag_id: [SETUP_TASK] for d in plan.dags if d.setup}
    # Airflow loads every provider's URI handlers only for a scheme it must normalize
    schemes = {s for v in seen["dags"].values() for s in v["schemes"]}
    assert seen["uri_handlers_loaded"] is bool(schemes - {"file", "x-kedro"}), schemes


def with_setup(
    setup: bool, tasks: list[str], edges: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """The tasks and edges Airflow loads: with a setup step, the setup task and an edge from it
    to every task without an upstream task."""
    if not setup:
        return tasks, edges
    roots = [t for t in tasks if all(down != t for _, down in edges)]
    return sorted([SETUP_TASK, *tasks]), sorted(edges + [[SETUP_TASK, t] for t in roots])


def test_assets_and_data_schedules_reach_airflow(airflow_env: dict[str, str]) -> None:
    """Outlets and inlets on the loaded tasks, and schedules on Assets or on Assets or time."""
    seen = probe(CASES / "assets" / "expected" / "dags", airflow_env)["dags"]
    processing, science, everything = (
        seen[d] for d in ("data_processing_prod", "data_science_prod", "everything_prod")
    )
    assert processing["timetable"] == "CronTriggerTimetable"
    table = "spaceflights.prod.model_input_table"
    assert processing["outlets"]["create_model_input_table_node"] == [table]
    assert processing["inlets"]["create_model_input_table_node"] == [
        "spaceflights.prod.preprocessed_companies",
        "spaceflights.prod.preprocessed_shuttles",
    ]
    assert (table, "file:///tmp/spaceflights/prod/03_primary/model_input_table.csv") in [
        tuple(pair) for pair in processing["uris"]
    ]
    # a task reading an Asset another DAG writes has it as an inlet
    assert science["inlets"] == {
        "active_modelling_pipeline": [table],
        "candidate_modelling_pipeline": [table],
    }
    assert science["timetable"] == "AssetTriggeredTimetable"
    assert science["schedule_assets"] == [table]
    assert everything["timetable"] == "AssetOrTimeSchedule"
    assert everything["cron"] == "0 6 * * *"
    assert everything["schedule_assets"] == [
        "spaceflights.prod.companies",
        "spaceflights.prod.reviews",
    ]
    text = (CASES / "assets" / "expected" / "dags" / "everything_prod.py").read_text()
    assert "s3cr3t" not in text  # no userinfo in an Asset URI
    assert "reader@" not in text


def test_awkward_values_arrive_verbatim(airflow_env: dict[str, str], tmp_path: Path) -> None:
    """Quotes, backslashes, newlines, Jinja and `__import__` in names reach Airflow unchanged."""
    files = compile_case(CASES / "awkward_names")
    dag_file = tmp_path / "dag.py"
    dag_file.write_text(files["dags/Data_Science_v2_base.py"])
    script = textwrap.dedent(
        f"""
        import json, runpy
        ns = runpy.run_path({str(dag_file)!r})
        dag, tasks = ns["dag"], ns["TASKS"]
        nodes = [n for _, _, _, group, *_ in tasks for n in group]
        op = dag.get_task("say_hi_run_id___import___os_.system_x")
        op.render_template_fields({{"run_id": "r", "ds": "2026-11-21"}})
        print(json.dumps({{"nodes": nodes, "owner": op.owner, "env": ns["ENV"],
                          "op_nodes": op.op_kwargs["nodes"], "tz": str(dag.timezone)}}))
        """
    )
    proc = run([str(BIN / "python"), "-c", script], tmp_path, airflow_env)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    snapshot = json.loads((CASES / "awkward_names" / "snapshot.json").read_text())
    [base] = snapshot["environments"].values()
    names = {n["name"] for n in base["pipelines"]["Data Science v2"]}
    assert set(seen["nodes"]) == names
    assert seen["owner"] == "o'brien \"the\" \\ owner\n__import__('os')"
    assert seen["env"] == {"QUOTE": "\"'\n", "BRACES": "{{ ds }}"}
    assert seen["op_nodes"] == ['say "hi" \\ {{ run_id }} __import__("os").system("x")']
    assert seen["tz"] == "Europe/Paris"


def test_generated_files_pass_ruff_airflow3_rules() -> None:
    targets = [str(ROOT / "dags"), *map(str, GOLDEN_DAG_DIRS)]
    proc = run(
        [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "AIR3",
            "--preview",
            *targets,
        ],
        ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


RECORD_HOOK = '''

import gc as _gc
from pathlib import Path as _Path

from kedro.framework.hooks import hook_impl as _hook_impl


class _RecordAirflowRun:
    """Test instrumentation: record the Airflow run that reached each Kedro run, and whether
    the garbage collector is on while it runs."""

    @_hook_impl
    def after_context_created(self, context):
        with _Path("data/08_reporting/airflow_runs.txt").open("a") as f:
            params = context.params
            run = f"{params['airflow_run_id']} {params['airflow_logical_date']}"
            f.write(f"{_gc.isenabled()} {run}\\n")


HOOKS = (_RecordAirflowRun(),)
'''


def test_dags_run_end_to_end(checkout: Path, airflow_env: dict[str, str]) -> None:
    """Compile in a fresh checkout and let Airflow run the bash and the python DAGs, with a
    node Kedro names itself (`preprocess_companies__<hash>`) and a non-ASCII node name."""
    package = checkout / "examples/spaceflights/src/spaceflights"
    settings = package / "settings.py"
    settings.write_text(settings.read_text() + RECORD_HOOK)
    pipeline = package / "pipelines/data_processing/pipeline.py"
    text = pipeline.read_text().replace('                name="preprocess_companies_node",\n', "")
    pipeline.write_text(text.replace('"preprocess_shuttles_node"', '"préparer_navettes"'))
    outputs = checkout / "outputs"
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(manifest.read_text().replace("/tmp/spaceflights", str(outputs)))
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    plan = kedro_gitops("plan", cwd=checkout).stdout
    assert any(
        line.split()[:4]
        == ["preparer_navettes_group", "[groups[0]", "memory]", "préparer_navettes,"]
        for line in plan.splitlines()
    )
    assert "  preprocess_companies__" in plan
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(checkout / "dags")}
    data = checkout / "examples/spaceflights/data"
    for dag_id in ("data_processing_base", "data_processing_prod", "data_science_prod"):
        proc = run([str(BIN / "airflow"), "dags", "test", dag_id], Path("/"), env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "state=success" in proc.stdout + proc.stderr
    prod = outputs / "prod"  # where the environment's catalog puts them, not the checkout
    assert (prod / "02_intermediate/preprocessed_shuttles.csv").is_file()  # persisted in prod
    assert (prod / "03_primary/model_input_table.csv").is_file()
    assert (outputs / "base/03_primary/model_input_table.csv").is_file()
    assert not (data / "03_primary/model_input_table.csv").exists()
    for namespace in ("active_modelling_pipeline", "candidate_modelling_pipeline"):
        assert (prod / f"06_models/regressor_{namespace}.pickle").is_file()
        metrics = json.loads((prod / f"08_reporting/metrics_{namespace}.json").read_text())
        assert set(metrics) >= {"r2_score"}
    runs = (data / "08_reporting/airflow_runs.txt").read_text().splitlines()
    assert len(runs) == 2 + 3 + 2  # one Kedro run per task
    for line in runs:
        collecting, run_id, logical_date = line.split(" ", 2)
        assert collecting == "True"  # the python executor pauses it only while Kedro loads
        assert run_id.startswith("manual__")
        assert logical_date.startswith("20")


WARN_AND_FAIL = """

import logging as _logging

_log = _logging.getLogger(__name__)
_preprocess_companies = preprocess_companies


def preprocess_companies(companies):  # noqa: F811
    _log.warning("companies look odd")
    return _preprocess_companies(companies)


def create_model_input_table(shuttles, companies, reviews):  # noqa: F811
    raise ValueError("no model input today")
"""


def test_kedro_records_reach_the_task_log_at_their_own_level(
    checkout: Path, airflow_env: dict[str, str]
) -> None:
    """A warning is a warning and a failed node an error with its traceback: one record each,
    no Rich boxes, no retry wait (retries: 0)."""
    nodes = checkout / "examples/spaceflights/src/spaceflights/pipelines/data_processing/nodes.py"
    nodes.write_text(nodes.read_text() + WARN_AND_FAIL)
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text().replace("retries: 2", "retries: 0")
    manifest.write_text(text.replace("/tmp/spaceflights", str(checkout / "outputs")))
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(checkout / "dags")}
    proc = run([str(BIN / "airflow"), "dags", "test", "data_processing_base"], Path("/"), env)
    log = proc.stdout + proc.stderr
    assert "state=failed" in log
    [warning] = [line for line in log.splitlines() if "companies look odd" in line]
    assert "[warning" in warning
    assert "spaceflights.pipelines.data_processing.nodes" in warning
    errors = [line for line in log.splitlines() if "[error" in line]
    assert any("create_model_input_table_node" in line for line in errors)
    traceback = log[log.index("Traceback (most recent call last)") :]
    assert "ValueError: no model input today" in traceback.split("[info", 1)[0]
    assert "╭" not in log  # no Rich boxes
    assert "│" not in log
