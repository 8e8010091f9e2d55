"""The typed manifest: built from schema-valid data, every element keeps its source location."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from .diagnostics import CompileError, Diagnostic, Location, did_you_mean
from .schedule import MAX_DAYS, Schedule, ScheduleError, duration_seconds, parse_schedule
from .schema import schema_problems
from .source import SourceMap, load_yaml

BUILTIN_EXECUTORS = {
    "subprocess": {"type": "subprocess"},
    "bash": {"type": "subprocess"},  # the former name of `subprocess`
    "python": {"type": "python"},
}
TYPE_ALIASES = {"bash": "subprocess"}  # executor types by their former names
POD_TYPES = ("kubernetes", "gke")  # executors that run each task as a Kubernetes pod
IMAGE_TYPES = (*POD_TYPES, "docker")  # executors whose runtime is a container image
TASK_SETTINGS = (
    "retries",
    "retry_delay",
    "execution_timeout",
    "pool",
    "queue",
    "priority_weight",
    "trigger_rule",
)
DURATIONS = ("retry_delay", "execution_timeout", "startup_timeout")  # keys holding a duration


@dataclass(frozen=True)
class Settings:
    """DAG-level settings: manifest `defaults`, overridable per DAG."""

    owner: str = "airflow"
    retries: int = 0
    retry_delay: str = "5m"
    start_date: str = "2024-01-01"
    timezone: str = "UTC"
    catchup: bool = False
    max_active_runs: int = 1
    tags: tuple[str, ...] = ()
    executor: str = "subprocess"
    deadline: tuple[tuple[str, str], ...] = ()  # after (a duration), since (queued/logical_date)
    assets: bool = True  # persisted datasets as Airflow Assets (outlets and inlets)

    def overlay(self, data: dict[str, Any]) -> Settings:
        known = {k: v for k, v in data.items() if k in Settings.__dataclass_fields__}
        if "tags" in known:
            known["tags"] = tuple(dict.fromkeys((*self.tags, *known["tags"])))
        if "deadline" in known:
            known["deadline"] = tuple(sorted({"since": "queued", **known["deadline"]}.items()))
        return replace(self, **known)


class _Options:
    """Typed access to an element's free-form options (sorted key/value pairs)."""

    options: tuple[tuple[str, Any], ...]

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class Environment:
    name: str
    kedro_env: str
    conf_source: str | None
    env: tuple[tuple[str, str], ...]
    location: Location
    executor: str | None = None
    kedro_env_at: Location = field(default=Location(""))  # where `kedro_env` is written


@dataclass(frozen=True)
class TaskRule:
    """Airflow settings for the tasks holding a node with one of `tags` or a matching name."""

    label: str
    tags: tuple[str, ...]
    nodes: tuple[str, ...]
    settings: tuple[tuple[str, Any], ...]
    location: Location


@dataclass(frozen=True)
class Executor(_Options):
    name: str
    type: str
    options: tuple[tuple[str, Any], ...]
    location: Location

    @property
    def runtime(self) -> str:
        """Where the project lives on the worker: `checkout` (beside the DAG file), `package`
        (installed as a wheel) or `image` (a container image's working directory)."""
        if self.type in IMAGE_TYPES:
            return "image"
        return str(self.option("runtime", "checkout"))


@dataclass(frozen=True)
class Rule(_Options):
    """A grouping rule; `index` is its position in the DAG's `groups` list."""

    index: int
    by: str
    options: tuple[tuple[str, Any], ...]
    location: Location

    @property
    def label(self) -> str:
        return f"groups[{self.index}] {self.by}"


@dataclass(frozen=True)
class DagSpec:
    """One `dags:` entry, with defaults applied."""

    index: int
    pipeline: str
    environments: tuple[str, ...]
    dag_id: str | None
    description: str | None
    schedule: Schedule
    settings: Settings
    rules: tuple[Rule, ...]
    location: Location
    locations: dict[str, Location] = field(compare=False, hash=False)
    executors: tuple[tuple[str, str], ...] = ()
    task_rules: tuple[TaskRule, ...] = ()
    params: tuple[str, ...] = ()  # Kedro parameters (dotted paths) shown as Airflow Params
    notifications: tuple[tuple[str, str], ...] = ()  # on_failure/on_success/on_retry: target
    setup_pipeline: str = ""  # run once before every task, as an Airflow setup task
    setup_outputs: tuple[str, ...] = ()  # its outputs, handed to later tasks as runtime params

    def at(self, key: str) -> Location:
        return self.locations.get(key, self.location)

    def executor_for(self, environment: Environment) -> tuple[str, Location]:
        """The DAG's executor in `environment`: the DAG's own choice (one name, or one per
        environment), else the environment's, else the defaults'."""
        by_env = dict(self.executors)
        if environment.name in by_env:
            return by_env[environment.name], self.at(f"executor.{environment.name}")
        if "*" in by_env:
            return by_env["*"], self.at("executor")
        if environment.executor:
            return environment.executor, environment.location
        return self.settings.executor, self.at("executor")


@dataclass(frozen=True)
class Manifest:
    file: str
    project_path: str
    project_python: str | None
    output: str
    environments: dict[str, Environment]
    executors: dict[str, Executor]
    dags: tuple[DagSpec, ...]
    data: Any = field(compare=False)
    diagnostics: tuple[Diagnostic, ...] = ()
    task_rules: tuple[TaskRule, ...] = ()
    output_at: Location = field(default=Location(""))  # where `output` is written


def _pairs(mapping: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((mapping or {}).items()))


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names (`localtime` is the machine's own zone, not a name)."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"} | {"UTC"})


def _timezone_hint(name: str) -> str:
    zones = time_zones()
    same = [z for z in zones if z.lower() == name.lower()]
    hint = f"did you mean `{same[0]}`?" if same else did_you_mean(name, zones)
    return (
        hint if hint.startswith("did you") else "use an IANA name such as `UTC` or `Europe/Paris`"
    )


def start_moment(text: str) -> datetime.datetime | None:
    """A schema-valid `start_date` as a naive datetime; None when no such date exists."""
    try:
        return datetime.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None


def _check_settings(
    settings: Settings, data: dict[str, Any], path: tuple[str | int, ...], smap: SourceMap
) -> list[Diagnostic]:
    """Semantic checks the schema cannot express: time zones, dates, duration bounds."""
    found = []
    if "timezone" in data and settings.timezone not in time_zones():
        found.append(
            Diagnostic(
                smap.at((*path, "timezone")),
                "error",
                "invalid-timezone",
                f"unknown time zone `{settings.timezone}`",
                hint=_timezone_hint(settings.timezone),
            )
        )
    if "start_date" in data and start_moment(settings.start_date) is None:
        found.append(
            Diagnostic(
                smap.at((*path, "start_date")),
                "error",
                "invalid-date",
                f"start_date `{settings.start_date}` is not a date",
                hint="use a real day and time: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, hours "
                "0-23, a year from 1970 to 2999",
            )
        )
    found += _check_durations(data, path, smap)
    return found


def _check_durations(
    data: dict[str, Any], path: tuple[str | int, ...], smap: SourceMap
) -> list[Diagnostic]:
    found = []
    for key in DURATIONS:
        if key in data:
            try:
                duration_seconds(data[key])
            except ScheduleError as exc:
                found.append(
                    Diagnostic(
                        smap.at((*path, key)),
                        "error",
                        "invalid-duration",
                        f"{key}: {exc}",
                        hint=f"durations are at most {MAX_DAYS} days (`{MAX_DAYS}d`)",
                    )
                )
    return found


def _check_continuous(
    settings: Settings,
    schedule: Schedule,
    entry: dict[str, Any],
    path: tuple[str | int, ...],
    smap: SourceMap,
) -> list[Diagnostic]:
    """Airflow refuses a `@continuous` DAG that may have more than one active run."""
    if schedule.value != "@continuous" or settings.max_active_runs == 1:
        return []
    key = "max_active_runs"
    where = (*path, key) if key in entry else ("defaults", key)
    return [
        Diagnostic(
            smap.at(where),
            "error",
            "invalid-max-active-runs",
            f"a `@continuous` DAG has one run at a time; max_active_runs is "
            f"{settings.max_active_runs}",
            hint="set `max_active_runs: 1` for this DAG (Airflow refuses to load it otherwise)",
        )
    ]


def _usable(key: str, value: Any) -> bool:
    """False for a duration that _check_durations reports."""
    try:
        if key in DURATIONS:
            duration_seconds(value)
    except ScheduleError:
        return False
    return True


def _task_rules(
    entries: list[dict[str, Any]], path: tuple[str | int, ...], label: str, smap: SourceMap
) -> tuple[TaskRule, ...]:
    """Task rules, without the settings already reported as invalid."""
    return tuple(
        TaskRule(
            label=f"{label}[{i}]",
            tags=tuple(entry.get("tags", ())),
            nodes=tuple(entry.get("nodes", ())),
            settings=tuple(
                (k, entry[k]) for k in TASK_SETTINGS if k in entry and _usable(k, entry[k])
            ),
            location=smap.at((*path, i)),
        )
        for i, entry in enumerate(entries)
    )


def _params_and_notifications(
    defaults: dict[str, Any], entry: dict[str, Any], path: tuple[str | int, ...], smap: SourceMap
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], dict[str, Location]]:
    """A DAG's Params (the defaults' and its own, in order), callbacks (its own replace the
    defaults' of the same kind), and where each was written (and its setup step's keys)."""
    own_params, given = list(entry.get("params", ())), list(defaults.get("params", ()))
    params = tuple(dict.fromkeys((*given, *own_params)))
    own = entry.get("notifications", {})
    notifications = tuple(sorted({**defaults.get("notifications", {}), **own}.items()))
    locations = {
        f"params.{name}": smap.at(
            (*path, "params", own_params.index(name))
            if name in own_params
            else ("defaults", "params", given.index(name))
        )
        for name in params
    }
    for kind, _ in notifications:
        where = (*path, "notifications", kind) if kind in own else ("defaults", "notifications")
        locations[f"notifications.{kind}"] = smap.at(where + (kind,) * (kind not in own))
    for key in entry.get("setup", {}):
        locations[f"setup.{key}"] = smap.at((*path, "setup", key))
    return params, notifications, locations


def build_manifest(data: dict[str, Any], smap: SourceMap) -> Manifest:
    """Typed manifest from schema-valid data; semantic problems are kept in `diagnostics`."""
    errors: list[Diagnostic] = []
    defaults = Settings().overlay(data.get("defaults", {}))
    errors += _check_settings(defaults, data.get("defaults", {}), ("defaults",), smap)
    for name, spec in data.get("executors", {}).items():
        errors += _check_durations(spec, ("executors", name), smap)
    for i, rule in enumerate(data.get("tasks", [])):
        errors += _check_durations(rule, ("tasks", i), smap)
    environments = {
        name: Environment(
            name,
            spec["kedro_env"],
            spec.get("conf_source"),
            _pairs(spec.get("env")),
            smap.at(("environments", name), key=True),
            spec.get("executor"),
            smap.at(("environments", name, "kedro_env")),
        )
        for name, spec in sorted(data["environments"].items())
    }
    executors = {
        name: Executor(
            name,
            TYPE_ALIASES.get(spec["type"], spec["type"]),
            _pairs({k: v for k, v in spec.items() if k != "type"}),
            smap.at(("executors", name), key=True),
        )
        for name, spec in sorted({**BUILTIN_EXECUTORS, **data.get("executors", {})}.items())
    }
    dags = []
    for index, entry in enumerate(data["dags"]):
        if entry is None:  # refused by the schema, reported already
            continue
        path: tuple[str | int, ...] = ("dags", index)
        # A DAG's own `executor` (one name, or one per environment): see DagSpec.executor_for.
        settings = defaults.overlay({k: v for k, v in entry.items() if k != "executor"})
        errors += _check_settings(settings, entry, path, smap)
        for i, rule in enumerate(entry.get("tasks", [])):
            errors += _check_durations(rule, (*path, "tasks", i), smap)
        try:
            schedule = parse_schedule(entry.get("schedule"), start_moment(settings.start_date))
        except ScheduleError as exc:
            errors.append(
                Diagnostic(
                    smap.at((*path, "schedule")),
                    "error",
                    "invalid-schedule",
                    str(exc),
                    hint=exc.hint,
                )
            )
            schedule = Schedule("none")
        errors += _check_continuous(settings, schedule, entry, path, smap)
        rules = tuple(
            Rule(
                i,
                rule["by"],
                _pairs({k: v for k, v in rule.items() if k != "by"}),
                smap.at((*path, "groups", i)),
            )
            for i, rule in enumerate(entry.get("groups", []))
        )
        locations = {key: smap.at((*path, key)) for key in entry}
        for key, names in (("after", schedule.after), ("datasets", schedule.datasets)):
            for i in range(len(names)):
                locations[f"schedule.{key}[{i}]"] = smap.at((*path, "schedule", key, i))
        for i, _ in enumerate(entry.get("environments", [])):
            locations[f"environments[{i}]"] = smap.at((*path, "environments", i))
        if "executor" not in entry and "executor" in data.get("defaults", {}):
            locations["executor"] = smap.at(("defaults", "executor"))
        chosen = entry.get("executor")
        by_env = {"*": chosen} if isinstance(chosen, str) else dict(chosen or {})
        for env_name in by_env:
            locations[f"executor.{env_name}"] = smap.at((*path, "executor", env_name))
        params, notifications, where = _params_and_notifications(
            data.get("defaults", {}), entry, path, smap
        )
        locations |= where
        dags.append(
            DagSpec(
                index=index,
                pipeline=entry["pipeline"],
                environments=tuple(entry.get("environments", sorted(environments))),
                dag_id=entry.get("dag_id"),
                description=entry.get("description"),
                schedule=schedule,
                settings=settings,
                rules=rules,
                location=smap.at(path),
                locations=locations,
                executors=tuple(sorted(by_env.items())),
                task_rules=_task_rules(
                    entry.get("tasks", []), (*path, "tasks"), f"dags[{index}].tasks", smap
                ),
                params=params,
                notifications=notifications,
                setup_pipeline=entry.get("setup", {}).get("pipeline", ""),
                setup_outputs=tuple(entry.get("setup", {}).get("outputs", ())),
            )
        )
    return Manifest(
        file=smap.file,
        project_path=data["project"]["path"],
        project_python=data["project"].get("python"),
        output=data.get("output", "dags"),
        environments=environments,
        executors=executors,
        dags=tuple(dags),
        data=data,
        diagnostics=tuple(errors),
        task_rules=_task_rules(data.get("tasks", []), ("tasks",), "tasks", smap),
        output_at=smap.at(("output",)) if "output" in data else Location(smap.file, 1, 1),
    )


def manifest_from_data(data: Any, smap: SourceMap) -> Manifest:
    """Schema-check and type loaded manifest data; raises CompileError with every problem."""
    if not isinstance(data, dict):
        where = Location(smap.file, 1, 1)
        raise CompileError(
            [Diagnostic(where, "error", "wrong-type", "the manifest must be a mapping")]
        )
    found = schema_problems(data, smap)
    if not found:
        return build_manifest(data, smap)
    # A DAG entry the schema refuses is left out, and every other element is still checked in
    # the same run; an error elsewhere leaves nothing that can be read safely.
    in_dags = [path[1] for path, _ in found if path[:1] == ("dags",) and len(path) > 1]
    problems = [d for _, d in found]
    if len(in_dags) < len(found):
        raise CompileError(problems)
    dags = data["dags"]  # errors inside its entries: it is a list
    if len(set(in_dags)) == len(dags):
        raise CompileError(problems)
    broken = set(in_dags)
    kept = {**data, "dags": [None if i in broken else d for i, d in enumerate(dags)]}
    manifest = build_manifest(kept, smap)
    return replace(manifest, diagnostics=(*manifest.diagnostics, *problems))


def parse_manifest(text: str, file: str) -> Manifest:
    """Load, schema-check and type a manifest; raises CompileError with every problem found."""
    return manifest_from_data(*load_yaml(text, file))
