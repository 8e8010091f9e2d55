"""Render a Plan into DAG file texts (pure: same plan, same bytes)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import jinja2

from .display import dag_doc, setup_doc, task_display_name, task_docs, task_groups
from .header import stamp
from .plan import DagPlan, Plan
from .runtime import Interpreter
from .schedule import Schedule, duration_seconds

_PLAIN = (str, int, float, bool, type(None))


def py(value: Any) -> str:
    """A Python literal for plain data; the only way values enter generated code."""
    if isinstance(value, str):
        text = repr(value)  # escapes quotes, backslashes, newlines: never breaks out
        return f'"{text[1:-1]}"' if text[0] == "'" and '"' not in value else text
    if isinstance(value, tuple):
        items = [py(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(py(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    if not isinstance(value, _PLAIN):
        raise TypeError(f"cannot write {type(value).__name__} into generated code")
    return repr(value)


def rows(items: Iterable[tuple[Any, ...]]) -> str:
    """The lines of a generated tuple of rows: `    (value, ...),` for each, as literals."""
    return "".join(f"    {py(tuple(item))},\n" for item in items)


def entries(pairs: Iterable[tuple[Any, Any]]) -> str:
    """The lines of a generated dict: `    key: value,` for each pair, as literals."""
    return "".join(f"    {py(key)}: {py(value)},\n" for key, value in pairs)


def docstring(value: str) -> str:
    """Text safe inside a triple-quoted docstring: escaped as a literal, every quote too."""
    return repr(value)[1:-1].replace('"', '\\"')


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("kedro_gitops", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)
_ENV.filters["py"] = py
_ENV.filters["import_order"] = lambda lines: sorted(lines, key=lambda s: (s.startswith("from"), s))
_ENV.filters["docstring"] = docstring
_ENV.filters["rows"] = rows
_ENV.filters["entries"] = entries
_ENV.filters["dict"] = dict
_ENV.filters["seconds"] = duration_seconds


def param_type(value: Any) -> str | list[str]:
    """The JSON Schema type of an Airflow Param defaulting to a Kedro parameter's value."""
    if value is None:
        return ["null", "string"]
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return kinds.get(type(value), "object")


def param_title(name: str) -> str:
    """A Param's title on the trigger form: its last key, then where it sits."""
    outer, _, last = name.rpartition(".")
    return f"{last} ({outer})" if outer else last


_ENV.filters["param_type"] = param_type
_ENV.filters["param_title"] = param_title


def schedule_expr(schedule: Schedule) -> str:
    if schedule.kind == "none":
        return "None"
    if schedule.kind == "duration":
        return f"datetime.timedelta(seconds={schedule.seconds})"
    return py(schedule.value)


def data_schedule_expr(dag: DagPlan) -> tuple[str, list[str]]:
    """A schedule on Assets (all of them updated), or on Assets or time; and its imports."""
    names = [f"ASSET[{py(name)}]" for name in dag.schedule_assets]
    assets = f"AssetAll({', '.join(names)})"
    schedule, timezone = dag.schedule, py(dag.settings.timezone)
    if schedule.kind == "none":
        return assets, ["Asset", "AssetAll"]
    if schedule.kind == "duration":
        timetable = f"DeltaTriggerTimetable(datetime.timedelta(seconds={schedule.seconds}))"
    else:
        timetable = f"CronTriggerTimetable({py(schedule.value)}, timezone={timezone})"
    kind = timetable.split("(", 1)[0]
    expr = f"AssetOrTimeSchedule(timetable={timetable}, assets={assets})"
    return expr, ["Asset", "AssetAll", "AssetOrTimeSchedule", kind]


def deadline_args(dag: DagPlan) -> dict[str, str]:
    """The DeadlineAlert of a DAG with a `deadline` and an `on_deadline_missed` callback: its
    reference, interval in seconds and the callback's dotted path; {} for none."""
    deadline = dict(dag.settings.deadline)
    target = dict(dag.notifications).get("on_deadline_missed")
    if not deadline or not target:
        return {}
    since = "DAGRUN_QUEUED_AT" if deadline["since"] == "queued" else "DAGRUN_LOGICAL_DATE"
    return {
        "reference": since,
        "seconds": py(duration_seconds(deadline["after"])),
        "path": py(target.replace(":", ".")),
    }


def from_import(module: str, names: list[str]) -> str:
    """`from module import ...` as isort writes it: constants, classes, then functions; wrapped
    one name per line when it would pass 99 characters."""
    kinds = sorted(set(names), key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    line = f"from {module} import {', '.join(kinds)}"
    if len(line) <= 99:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in kinds) + ")"


def start_date_args(text: str) -> str:
    """`2026-01-01T03:00` -> `2026, 1, 1, 3, 0, 0`."""
    moment = datetime.datetime.fromisoformat(text.replace(" ", "T"))
    parts = [moment.year, moment.month, moment.day]
    if moment.time() != datetime.time():
        parts += [moment.hour, moment.minute, moment.second]
    return ", ".join(str(p) for p in parts)


_PYTHON_OPERATOR = "from airflow.providers.standard.operators.python import PythonOperator"
OPERATOR_IMPORTS = {
    "subprocess": _PYTHON_OPERATOR,
    "venv": _PYTHON_OPERATOR,
    "python": _PYTHON_OPERATOR,
    "kubernetes": "from airflow.providers.cncf.kubernetes.operators.pod import "
    "KubernetesPodOperator",
    "gke": "from airflow.providers.google.cloud.operators.kubernetes_engine import "
    "GKEStartPodOperator",
    "docker": "from airflow.providers.docker.operators.docker import DockerOperator",
}


def python_expr(python: Interpreter) -> str:
    """The generated expression for the interpreter that runs Kedro on the worker."""
    if python.kind == "worker":
        return "sys.executable"
    if python.kind == "project":
        return f"os.path.join(PROJECT_DIR, {py(python.value)})"
    if python.kind == "env":
        return f'os.environ.get({py(python.value)}, "")'
    return py(python.value)


def render_dag(dag: DagPlan, manifest: str) -> str:
    template = _ENV.get_template("dag.py.jinja")
    executor = _ENV.get_template(f"executor_{dag.template}.jinja").module
    tags = sorted(
        {*dag.settings.tags, "kedro", f"pipeline:{dag.pipeline}", f"env:{dag.environment}"}
    )
    groups, group_of = task_groups(dag)
    schedule, sdk = schedule_expr(dag.schedule), ["DAG", "literal"]
    if dag.schedule_assets:
        schedule, more = data_schedule_expr(dag)
        sdk += more
    deadline = deadline_args(dag)
    sdk += ["Asset"] * bool(dag.assets) + ["Param"] * bool(dag.params)
    sdk += ["TaskGroup"] * bool(groups)
    sdk += ["DeadlineAlert", "DeadlineReference", "SyncCallback"] * bool(deadline)
    body = template.render(
        dag=dag,
        ex=executor,
        schedule=schedule,
        sdk_import=from_import("airflow.sdk", sdk),
        deadline=deadline,
        setup_doc=setup_doc(dag),
        start_date=start_date_args(dag.settings.start_date),
        retry_delay=duration_seconds(dag.settings.retry_delay),
        tags=tags,
        operator_import=OPERATOR_IMPORTS[dag.executor],
        python=python_expr(dag.python),
        display_name=f"{dag.pipeline} ({dag.environment})",
        dag_doc=dag_doc(dag, manifest),
        groups=groups,
        task_rows=[
            (task_id, task_display_name(t), group_of[task_id], nodes, *([extra] if extra else []))
            for t in dag.tasks
            for task_id, nodes, extra in [dag.row(t)]
        ],
        task_assets=[(task_id, (outs, ins)) for task_id, outs, ins in dag.task_assets],
        task_docs=task_docs(dag),
    )
    return stamp(body, manifest, dag.input_hash)


def render_plan(plan: Plan) -> dict[str, str]:
    """{file name relative to the output directory: text}."""
    return {dag.filename: render_dag(dag, plan.manifest) for dag in plan.dags}
