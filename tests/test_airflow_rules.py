"""A manifest that compiles loads and schedules in Airflow: each value Airflow would refuse (when
it imports the DAG file, schedules the DAG or stores it in its database) is a located diagnostic
(exit code 2), never an internal error (exit code 3) or a DAG file that fails in Airflow.

The manifests are planned against a snapshot, as the golden cases are: no Kedro project is read.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kedro_gitops.diagnostics import CompileError, Diagnostic, Location
from kedro_gitops.manifest import parse_manifest
from kedro_gitops.paths import output_problem
from kedro_gitops.plan import Plan, build_plan
from kedro_gitops.render import render_plan
from kedro_gitops.snapshot import ProjectSnapshot

from conftest import BIN, CASES, run

FILE = "pipelines.deploy.yaml"
SNAPSHOT = json.loads((CASES / "collisions" / "snapshot.json").read_text())  # every dataset saved
HEAD = """\
version: 1
project: {path: .}
"""
BASE = HEAD + "environments:\n  base: {kedro_env: base}\n"


def snapshot(pipeline: str = "data_processing") -> ProjectSnapshot:
    """The snapshot, with its `data_processing` pipeline named `pipeline`."""
    data = json.loads(json.dumps(SNAPSHOT))
    pipelines = data["environments"]["base"]["pipelines"]
    pipelines[pipeline] = pipelines.pop("data_processing")
    return ProjectSnapshot.from_json(data)


def plan(text: str, pipeline: str = "data_processing") -> Plan:
    return build_plan(parse_manifest(text, FILE), snapshot(pipeline))


def errors(text: str, pipeline: str = "data_processing") -> list[Diagnostic]:
    """The diagnostics of a manifest that must not compile (a CompileError: exit code 2)."""
    with pytest.raises(CompileError) as raised:
        plan(text, pipeline)
    return [d for d in raised.value.diagnostics if d.severity == "error"]


def at(text: str, needle: str) -> Location:
    """Where `needle` first occurs in `text`."""
    before = text[: text.index(needle)]
    return Location(FILE, before.count("\n") + 1, len(before) - before.rfind("\n"))


def dag(fields: str) -> str:
    return BASE + f"dags:\n  - {{pipeline: data_processing, {fields}}}\n"


REFUSED = [
    # 1. floats where Airflow wants an int: every integer field, one type checker
    ("depth", dag("groups: [{by: namespace, depth: 1.0}]"), "wrong-type", "1.0"),
    ("max_active_runs_float", dag("max_active_runs: 1.0"), "wrong-type", "1.0"),
    ("retries_float", dag("retries: 2.0"), "wrong-type", "2.0"),
    ("priority_weight_float", dag("tasks: [{priority_weight: 1.0}]"), "wrong-type", "1.0"),
    ("version_float", BASE.replace("version: 1", "version: 1.0"), "wrong-type", "1.0"),
    # 2. integers beyond what Airflow's database holds
    ("retries_huge", dag("retries: 1000000000000000000000000000000"), "out-of-range", "1000"),
    ("retries_over", dag("retries: 1001"), "out-of-range", "1001"),
    ("max_active_runs_huge", dag("max_active_runs: 2147483648"), "out-of-range", "2147483648"),
    ("max_active_runs_zero", dag("max_active_runs: 0"), "out-of-range", "0"),
    ("priority_high", dag("tasks: [{priority_weight: 2147483648}]"), "out-of-range", "2147"),
    ("priority_low", dag("tasks: [{priority_weight: -2147483649}]"), "out-of-range", "-2147"),
    # 3. dag_id templates that cannot be formatted
    ("dag_id_open", dag('dag_id: "{pipeline"'), "invalid-dag-id", '"{pipeline"'),
    ("dag_id_close", dag('dag_id: "x}"'), "invalid-dag-id", '"x}"'),
    ("dag_id_unknown", dag('dag_id: "{unknown}"'), "invalid-dag-id", '"{unknown}"'),
    ("dag_id_positional", dag('dag_id: "{0}"'), "invalid-dag-id", '"{0}"'),
    ("dag_id_empty_field", dag('dag_id: "{}"'), "invalid-dag-id", '"{}"'),
    ("dag_id_conversion", dag('dag_id: "{pipeline!r}"'), "invalid-dag-id", '"{pipeline!r}"'),
    ("dag_id_format_spec", dag('dag_id: "{pipeline:>300}"'), "invalid-dag-id", '"{pipeline:'),
    ("dag_id_attribute", dag('dag_id: "{pipeline.upper}"'), "invalid-dag-id", '"{pipeline.'),
    # 4. formatted dag_ids Airflow refuses (`<dag_id>.py` must also fit in 255 bytes)
    ("dag_id_non_ascii", dag('dag_id: "é{pipeline}"'), "invalid-dag-id", '"é'),
    ("dag_id_newline", dag('dag_id: "{pipeline}\\n"'), "invalid-dag-id", '"{pipeline}\\n"'),
    ("dag_id_space", dag('dag_id: "a b"'), "invalid-dag-id", '"a b"'),
    ("dag_id_251", dag(f"dag_id: {'x' * 251}"), "invalid-dag-id", "xxx"),
    ("dag_id_long_env", dag(f'dag_id: "{{environment}}_{"x" * 246}"'), "invalid-dag-id", '"{e'),
    # 5. dates that do not exist, or that Airflow cannot schedule
    ("feb_30", dag('start_date: "2026-02-30"'), "invalid-date", '"2026'),
    ("hour_24", dag('start_date: "2026-01-01T24:00"'), "invalid-date", '"2026'),
    ("minute_60", dag('start_date: "2026-01-01 10:60"'), "invalid-date", '"2026'),
    ("year_0", dag('start_date: "0000-01-01"'), "invalid-format", '"0000'),
    ("year_1", dag('start_date: "0001-01-01"'), "invalid-format", '"0001'),
    ("year_1969", dag('start_date: "1969-12-31"'), "invalid-format", '"1969'),
    ("year_3000", dag('start_date: "3000-01-01"'), "invalid-format", '"3000'),
    ("arabic_digits", dag('start_date: "٢٠٢٦-01-01"'), "invalid-format", '"٢'),
    # 6. time zones: only IANA names
    ("tz_directory", dag("timezone: Europe"), "invalid-timezone", "Europe"),
    ("tz_too_long", dag(f"timezone: {'a' * 300}"), "invalid-timezone", "aaa"),
    ("tz_path", dag("timezone: ../etc/x"), "invalid-timezone", "../etc"),
    ("tz_absolute", dag("timezone: /etc/localtime"), "invalid-timezone", "/etc"),
    ("tz_localtime", dag("timezone: localtime"), "invalid-timezone", "localtime"),
    ("tz_case", dag("timezone: utc"), "invalid-timezone", "utc"),
    ("tz_defaults", "", "invalid-timezone", "Mars"),
    # 7. resources: Kubernetes quantities greater than zero
    ("cpu_negative", "", "out-of-range", "-1"),
    ("cpu_zero", "", "out-of-range", "0}"),
    ("cpu_zero_float", "", "out-of-range", "0.0}"),
    ("cpu_zero_string", "", "invalid-format", '"0"'),
    ("memory_zero", "", "invalid-format", "0Gi"),
    ("memory_bytes", "", "invalid-format", "512MB"),
    ("memory_negative", "", "invalid-format", '"-1Gi"'),
    ("memory_exponent", "", "invalid-format", "1e9"),
    ("limits_zero", "", "out-of-range", "0}"),
    # 8. durations: at most 365 days, so that no timedelta or date overflows
    ("retry_delay", dag("retry_delay: 99999999999d"), "invalid-duration", "9999"),
    ("retry_delay_366", dag("retry_delay: 366d"), "invalid-duration", "366d"),
    ("retry_delay_hours", dag("retry_delay: 8761h"), "invalid-duration", "8761h"),
    ("execution_timeout", dag("tasks: [{execution_timeout: 365d1s}]"), "invalid-duration", "365d"),
    ("schedule_duration", dag("schedule: 99999999999d"), "invalid-schedule", "9999"),
    ("schedule_seconds", dag("schedule: 31536001s"), "invalid-schedule", "3153"),
    ("top_level_rule", "", "invalid-duration", "9999"),
    ("startup_timeout", "", "invalid-duration", "9999"),
    # 9. tags: at most 100 characters, the automatic `pipeline:` and `env:` tags included
    ("tag_101", dag(f"tags: [{'t' * 101}]"), "invalid-length", "ttt"),
    ("default_tag_101", "", "invalid-length", "ttt"),
    ("env_tag_101", "", "tag-too-long", "e" * 97),
    # 10. cron expressions, as Airflow's parser (croniter) reads them
    ("cron_open_range", dag('schedule: "1- * * * *"'), "invalid-schedule", '"1-'),
    ("cron_empty_step", dag('schedule: "*/ * * * *"'), "invalid-schedule", '"*/'),
    ("cron_empty_item", dag('schedule: "1,,2 * * * *"'), "invalid-schedule", '"1,,2'),
    ("cron_negative", dag('schedule: "-1 * * * *"'), "invalid-schedule", '"-1'),
    ("cron_seconds", dag('schedule: "* * * * * *"'), "invalid-schedule", '"* *'),
    ("cron_year", dag('schedule: "0 0 1 1 * 0 2030"'), "invalid-schedule", '"0 0'),
    ("cron_feb_30", dag('schedule: "0 0 30 2 *"'), "invalid-schedule", '"0 0'),
    ("cron_april_31", dag('schedule: "0 0 31 4 *"'), "invalid-schedule", '"0 0'),
    ("cron_last_day", dag('schedule: "0 0 L * *"'), "invalid-schedule", '"0 0'),
    ("cron_hash", dag('schedule: "H * * * *"'), "invalid-schedule", '"H'),
    ("cron_unicode_digit", dag('schedule: "٣ * * * *"'), "invalid-schedule", '"٣'),
    # 11. `@continuous` runs one at a time
    (
        "continuous",
        dag('schedule: "@continuous", max_active_runs: 2'),
        "invalid-max-active-runs",
        "2}",
    ),
    ("continuous_defaults", "", "invalid-max-active-runs", "3}"),
    # 12. environment variables a worker cannot set
    ("env_empty_name", "", "invalid-name", '""'),
    ("env_name_equals", "", "invalid-name", '"A=B"'),
    ("executor_env_name", "", "invalid-name", '"A=B"'),
    ("secret_env_name", "", "invalid-format", '"A=B"'),
    ("env_value_nul", "", "", ""),
    ("env_value_surrogate", "", "", ""),
    ("env_name_nul", "", "", ""),
]
_DOCKER = "executors:\n  d: {type: docker, image: x, resources: {default: {%s}}}\n"
_K8S = 'executors:\n  k: {type: kubernetes, image: "x@sha256:0", %s}\n'
_MANIFESTS = {
    "cpu_negative": BASE + _DOCKER % "cpu: -1",
    "cpu_zero": BASE + _DOCKER % "cpu: 0",
    "cpu_zero_float": BASE + _DOCKER % "cpu: 0.0",
    "cpu_zero_string": BASE + _DOCKER % 'cpu: "0"',
    "memory_zero": BASE + _DOCKER % "memory: 0Gi",
    "memory_bytes": BASE + _DOCKER % "memory: 512MB",
    "memory_negative": BASE + _DOCKER % 'memory: "-1Gi"',
    "memory_exponent": BASE + _DOCKER % "memory: 1e9",
    "limits_zero": BASE + _DOCKER % "cpu: 1, limits: {cpu: 0}",
    "tz_defaults": HEAD + "defaults: {timezone: Mars}\n" + BASE[len(HEAD) :],
    "top_level_rule": BASE + "tasks: [{retry_delay: 99999999999d}]\n",
    "startup_timeout": BASE + _K8S % "startup_timeout: 99999999999d",
    "default_tag_101": HEAD + f"defaults: {{tags: [{'t' * 101}]}}\n" + BASE[len(HEAD) :],
    "env_tag_101": HEAD + f"environments:\n  {'e' * 97}: {{kedro_env: base}}\n",
    "continuous_defaults": HEAD
    + "defaults: {max_active_runs: 3}\n"
    + BASE[len(HEAD) :]
    + 'dags:\n  - {pipeline: data_processing, schedule: "@continuous"}\n',
    "env_empty_name": HEAD + 'environments:\n  base: {kedro_env: base, env: {"": x}}\n',
    "env_name_equals": HEAD + 'environments:\n  base: {kedro_env: base, env: {"A=B": x}}\n',
    "executor_env_name": BASE + 'executors:\n  s: {type: subprocess, env: {"A=B": x}}\n',
    "secret_env_name": BASE + _K8S % 'secrets: [{secret: s, key: k, env: "A=B"}]',
    "env_value_nul": HEAD + 'environments:\n  base: {kedro_env: base, env: {A: "x\\0y"}}\n',
    "env_value_surrogate": HEAD + 'environments:\n  base: {kedro_env: base, env: {A: "\\ud800"}}\n',
    "env_name_nul": HEAD + 'environments:\n  base: {kedro_env: base, env: {"A\\0": x}}\n',
}
_DAGS = "dags:\n  - {pipeline: data_processing}\n"


def _case(name: str, text: str) -> str:
    text = text or _MANIFESTS[name]
    return text if "dags:" in text else text + _DAGS


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [pytest.param(_case(n, t), c, w, id=n) for n, t, c, w in REFUSED],
)
def test_refused_values_are_located_diagnostics(text: str, code: str, needle: str) -> None:
    found = errors(text)
    assert found, "the manifest must not compile"
    if code:  # else: refused wherever it is caught first (the YAML loader, the schema)
        assert [(d.code, d.location) for d in found] == [(code, at(text, needle))], found
        assert all(d.hint for d in found), found


def test_every_problem_is_reported_in_one_run() -> None:
    text = (
        HEAD
        + "defaults: {timezone: Europe, retry_delay: 400d}\n"
        + BASE[len(HEAD) :]
        + "dags:\n"
        + '  - {pipeline: data_processing, dag_id: "{pipeline", start_date: "2026-02-30"}\n'
        + '  - {pipeline: data_processing, dag_id: b, schedule: "0 0 30 2 *"}\n'
        + '  - {pipeline: data_processing, dag_id: c, schedule: "@continuous", '
        + "max_active_runs: 2}\n"
    )
    codes = sorted(d.code for d in errors(text))
    assert codes == [
        "invalid-dag-id",
        "invalid-date",
        "invalid-duration",
        "invalid-max-active-runs",
        "invalid-schedule",
        "invalid-timezone",
    ]


def test_long_pipeline_name_is_a_tag_too_long() -> None:
    name = "p" * 92  # `pipeline:<name>` is 101 characters
    text = BASE + f"dags:\n  - {{pipeline: {name}, dag_id: short}}\n"
    found = errors(text, pipeline=name)
    assert [(d.code, d.location) for d in found] == [("tag-too-long", at(text, name))]
    assert "91" in found[0].hint


def test_time_zone_hint_suggests_a_close_name() -> None:
    [found] = errors(dag("timezone: Europe/Pari"))
    assert found.hint == "did you mean `Europe/Paris`?"


def test_a_cron_schedule_fires_after_the_start_date() -> None:
    """February 29th exists after 2999-03-01 (in 3004): croniter finds it."""
    text = dag('schedule: "0 0 29 2 *", start_date: "2999-03-01"')
    assert plan(text).dags[0].schedule.value == "0 0 29 2 *"


def test_numeric_quantities_merge_whatever_their_notation() -> None:
    """`1e-05` is what `str()` makes of 0.00001: still a number to compare."""
    executor = "{cpu: 0.00001}, by_tag: {b: {cpu: 2}}, merge: largest"
    text = (
        BASE
        + f"executors:\n  d: {{type: docker, image: x, resources: {{default: {executor}}}}}\n"
        + "dags:\n  - {pipeline: data_processing, executor: d, groups: "
        "[{by: group, name: all, tags: [a, b]}]}\n"
    )
    [only] = plan(text).dags
    assert only.presets == {"b+default": {"cpus": 2.0}}


# 13. `output` must be (or become) a directory


def test_output_that_is_a_file(tmp_path: Path) -> None:
    where = Location(FILE, 3, 9)
    (tmp_path / "dags").write_text("not a directory")
    found = output_problem(tmp_path, "dags", where)
    assert found is not None
    assert (found.code, found.location, found.severity) == (
        "output-not-a-directory",
        where,
        "error",
    )
    assert "is not a directory" in found.message
    below = output_problem(tmp_path, "dags/airflow", where)
    assert below is not None
    assert "dags` exists" in below.message


def test_output_name_too_long(tmp_path: Path) -> None:
    found = output_problem(tmp_path, "d" * 300, Location(FILE, 3, 9))
    assert found is not None
    assert "too long" in found.message.lower()


def test_output_that_is_or_can_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    where = Location(FILE)
    assert output_problem(tmp_path, "dags", where) is None
    assert output_problem(tmp_path, "new/dags", where) is None
    assert output_problem(tmp_path, ".", where) is None


def test_the_manifest_locates_output() -> None:
    text = BASE + "output: airflow/dags\n" + _DAGS
    assert parse_manifest(text, FILE).output_at == at(text, "airflow/dags")


# At every limit: Airflow imports each DAG file and computes its next runs.

PIPELINE = "p" * 91  # `pipeline:<name>`: 100 characters
ENVIRONMENT = "e" * 96  # `env:<name>`: 100 characters
EDGES = f"""\
version: 1
project: {{path: .}}
defaults:
  tags: ["{"t" * 100}"]
  retries: 1000
  retry_delay: 365d
environments:
  {ENVIRONMENT}: {{kedro_env: base}}
executors:
  pods:
    type: kubernetes
    image: "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    startup_timeout: 365d
    env: {{"A.B-C": "x"}}
    resources: {{default: {{cpu: 1m, memory: 1Ki, limits: {{cpu: 0.001}}}}}}
tasks:
  - {{execution_timeout: 8760h, priority_weight: 2147483647}}
dags:
  - pipeline: {PIPELINE}
    dag_id: "{{pipeline}}_{"x" * 158}"
    start_date: "1970-01-01"
    timezone: Pacific/Kiritimati
    catchup: true
    schedule: "0 0 29 2 *"
    max_active_runs: 2147483647
  - pipeline: {PIPELINE}
    dag_id: latest
    start_date: "2999-12-31T23:59:59"
    timezone: Pacific/Pago_Pago
    schedule: 365d
    executor: pods
    tasks: [{{priority_weight: -2147483648}}]
  - pipeline: {PIPELINE}
    dag_id: continuous
    schedule: "@continuous"
    max_active_runs: 1
  - pipeline: {PIPELINE}
    dag_id: every_second
    schedule: 1s
"""

SCHEDULE_PROBE = """
import json, sys
sys.modules["kedro"] = None  # Kedro must not be needed to parse
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization

bag = DagBag(dag_folder=sys.argv[1])
runs = {}
for dag_id, dag in bag.dags.items():
    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    info, runs[dag_id] = None, []
    for _ in range(3):
        info = scheduled.next_dagrun_info(last_automated_run_info=info, restricted=True)
        if info is None:
            break
        runs[dag_id].append(info.run_after.isoformat())
errors = {k.rsplit("/", 1)[-1][:20]: v for k, v in bag.import_errors.items()}
print(json.dumps({"import_errors": errors, "runs": runs}))
"""


def test_dags_at_every_limit_load_and_schedule(airflow_env: dict[str, str], tmp_path: Path) -> None:
    compiled = plan(EDGES, pipeline=PIPELINE)
    assert len(max((d.dag_id for d in compiled.dags), key=len)) == 250
    folder = tmp_path / "dags"
    folder.mkdir()
    for name, text in render_plan(compiled).items():
        (folder / name).write_text(text, encoding="utf-8")
    script = tmp_path / "schedule_probe.py"
    script.write_text(textwrap.dedent(SCHEDULE_PROBE))
    proc = run([str(BIN / "python"), str(script), str(folder)], tmp_path, airflow_env)
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["import_errors"] == {}
    assert sorted(seen["runs"]) == sorted(d.dag_id for d in compiled.dags)
    assert "Failed to fetch run info" not in proc.stdout + proc.stderr
    for dag_id, runs in seen["runs"].items():
        assert runs, f"Airflow computes no run for {dag_id}"
