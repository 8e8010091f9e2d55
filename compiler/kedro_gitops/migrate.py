"""`kedro-gitops migrate`: the manifest equivalent to a project's kedro-airflow setup, its
`airflow*` configuration and the options of `kedro airflow create`; what has no equivalent is
listed with a hint. Then one compile."""

from __future__ import annotations

import argparse
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import CompileError, Diagnostic, Location, escape, has_errors
from .paths import MANIFEST
from .starter import find_project, read_project, say, schema_modeline, shown, yaml_value

DEFAULT_ENV = "local"  # `kedro airflow create --env`'s default
DEFAULT_PIPELINE = "__default__"
BASE_ENV = "base"
CONFIG_SUFFIXES = (".yml", ".yaml", ".json")
# What kedro-airflow's DAG template uses for a setting the configuration does not give.
TEMPLATE_DEFAULTS: dict[str, Any] = {
    "owner": "airflow",
    "retries": 1,
    "retry_delay": 5,  # minutes
    "start_date": [2023, 1, 1],
    "catchup": False,
    "max_active_runs": 3,
}
TEMPLATE_SCHEDULE = "@once"
SETTINGS = ("owner", "retries", "retry_delay", "start_date", "catchup", "max_active_runs", "tags")
SCHEDULES = ("schedule", "schedule_interval")  # `schedule` wins when both are given
EMAIL_HINT = (
    "kedro-gitops sets no e-mail alerts: configure them in Airflow (for example an SMTP notifier "
    "as `on_failure_callback` in a cluster policy)"
)
# Settings kedro-gitops has no equivalent of: they are listed when they differ from Airflow's
# default (false).
NO_EQUIVALENT = {
    "depends_on_past": "kedro-gitops sets no depends_on_past: a run's tasks do not wait for the "
    "previous run's; `max_active_runs: 1` keeps the runs of a DAG one at a time",
    "email_on_failure": EMAIL_HINT,
    "email_on_retry": EMAIL_HINT,
    "email": EMAIL_HINT,
}
START_DATE = re.compile(
    r"(19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"
)


@dataclass(frozen=True)
class Dropped:
    """A setting or option that is not carried over, and what to do instead."""

    what: str
    hint: str


# kedro-airflow's configuration.


def config_files(folder: Path) -> list[Path]:
    """The files `airflow*` and `airflow/**` name in an environment's folder, as Kedro's config
    loader finds them (configuration files only, hidden ones left out)."""
    found = {*folder.glob("airflow*"), *folder.glob("airflow/**/*")}
    return sorted(
        p
        for p in found
        if p.is_file()
        and p.suffix in CONFIG_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def read_config(project: Path, env: str) -> tuple[list[str], dict[str, tuple[Any, str]]]:
    """The files read, and each top-level block with the file it came from. An environment's
    block replaces base's whole, as Kedro's config loader merges them."""
    import yaml

    files: list[str] = []
    blocks: dict[str, tuple[Any, str]] = {}
    for folder in dict.fromkeys((BASE_ENV, env)):
        for path in config_files(project / "conf" / folder):
            name = path.relative_to(project).as_posix()
            try:
                data = yaml.safe_load(path.read_text("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                where = Location(name)
                mark = getattr(exc, "problem_mark", None)
                if mark is not None:
                    where = Location(name, mark.line + 1, mark.column + 1)
                problem = getattr(exc, "problem", None) or str(exc)
                raise CompileError(
                    [Diagnostic(where, "error", "airflow-config", f"cannot read it: {problem}")]
                ) from None
            files.append(name)
            if isinstance(data, dict):
                blocks.update(
                    {str(k): (v, name) for k, v in data.items() if not str(k).startswith("_")}
                )
    return files, blocks


def params(text: str) -> dict[str, Any]:
    """`--params key=value,key2=value2` as kedro-airflow reads it (each value as YAML)."""
    import yaml

    found = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise argparse.ArgumentTypeError(f"`{item}` is not `key=value`")
        try:
            found[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            found[key.strip()] = value
    return found


# Settings, one at a time.


def duration(minutes: Any) -> str:
    """kedro-airflow's `retry_delay` (minutes) as a duration: 5 is `5m`, 90 is `1h30m`."""
    from .schedule import duration_seconds

    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes < 0:
        raise ValueError("not a number of minutes")
    left = round(minutes * 60)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    text = "".join(parts) or "0s"
    duration_seconds(text)  # at most 365 days
    return text


def start_date(value: Any) -> str:
    """`[2023, 1, 1]` (kedro-airflow's form), a date or a `YYYY-MM-DD[THH:MM[:SS]]` string."""
    from .manifest import start_moment

    if isinstance(value, (list, tuple)) and 3 <= len(value) <= 6:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValueError("not [year, month, day, ...] numbers")
        value = datetime.datetime(*value)
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%dT%H:%M:%S").removesuffix(":00").removesuffix("T00:00")
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("not a date")
    if not START_DATE.fullmatch(text) or start_moment(text) is None:
        raise ValueError("not a date from 1970 to 2999")
    return text


def schedule(value: Any) -> str | None:
    from .schedule import parse_schedule

    if value is not None:
        if not isinstance(value, str):
            raise ValueError("not a cron expression or preset")
        parse_schedule(value)
    found: str | None = value
    return found


def whole(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"not a whole number from {low} to {high}")
        return int(value)

    return check


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def owner(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("not a name")
    return value


def tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and 0 < len(t) <= 100 for t in value
    ):
        raise ValueError("not a list of tags of 1 to 100 characters")
    return list(dict.fromkeys(value))


# Each setting that carries over: its manifest value, or ValueError saying why there is none.
CONVERT: dict[str, Callable[[Any], Any]] = {
    "schedule": schedule,
    "schedule_interval": schedule,
    "start_date": start_date,
    "retry_delay": duration,
    "retries": whole(0, 1000),
    "max_active_runs": whole(1, 2**31 - 1),
    "catchup": flag,
    "owner": owner,
    "tags": tags,
}


def setting(key: str, value: Any) -> Any:
    """The manifest's value for one kedro-airflow setting; KeyError when kedro-gitops has no
    such setting, ValueError when the value cannot be carried over."""
    if isinstance(value, str) and "${" in value:
        raise ValueError("Kedro's config loader resolves `${...}`: write the value itself")
    return CONVERT[key](value)


def settings_of(block: Any, prefix: str, suffix: str, dropped: list[Dropped]) -> dict[str, Any]:
    """The settings of one block that carry over; the others are added to `dropped`, named
    `<prefix><key>: <value><suffix>`."""
    if not isinstance(block, dict):
        dropped.append(Dropped(f"{prefix.rstrip('.')}{suffix}", "not a mapping of settings"))
        return {}
    found = {}
    for key, value in block.items():
        what = f"{prefix}{key}: {yaml_value(value)}{suffix}"
        if key in NO_EQUIVALENT:
            if value:
                dropped.append(Dropped(what, NO_EQUIVALENT[key]))
            continue
        try:
            found[key] = setting(key, value)
        except KeyError:
            hint = "only a custom Jinja template reads it: kedro-gitops has no such setting"
            dropped.append(Dropped(what, hint))
        except ValueError as exc:
            dropped.append(Dropped(what, str(exc)))
    return found


def schedule_of(layers: list[dict[str, Any]]) -> str | None:
    """The template's schedule: `schedule`, else `schedule_interval`, whichever layer has it."""
    merged = {k: v for layer in layers for k, v in layer.items()}
    key = next((k for k in SCHEDULES if k in merged), None)
    found: str | None = merged[key] if key else TEMPLATE_SCHEDULE
    return found


def dag_settings(layers: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {k: v for layer in layers for k, v in layer.items()}
    return {k: merged[k] for k in SETTINGS if k in merged}


# The command.


def package_slug(project: Path) -> str:
    """kedro-airflow's DAG id: the project's package name, slugified."""
    text = (project / "pyproject.toml").read_text("utf-8")
    found = re.search(r"^\s*package_name\s*=\s*[\"']([^\"']+)", text, re.MULTILINE)
    name = found[1] if found else project.name
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def chosen_pipelines(args: argparse.Namespace, project: Path) -> list[str]:
    if args.all:
        snapshot = read_project(project, [args.env], (), use_cache=not args.no_cache)
        return list(next(iter(snapshot.environments.values())).pipeline_names)
    given = [p.strip() for value in args.pipelines or () for p in value.split(",") if p.strip()]
    return list(dict.fromkeys(given)) or [DEFAULT_PIPELINE]


def option_notes(args: argparse.Namespace, project: Path) -> tuple[str, list[Dropped]]:
    """The output folder, and the options of `kedro airflow create` that do not carry over."""
    dropped = []
    output = "dags"
    if args.target_dir:
        target = Path(args.target_dir)
        if not target.is_absolute():
            output = target.as_posix().rstrip("/") or "."
        elif target.resolve().is_relative_to(project):
            output = target.resolve().relative_to(project).as_posix() or "."
        else:
            dropped.append(
                Dropped(
                    f"--target-dir {args.target_dir}",
                    "kedro-gitops writes the DAG files into the repository and Airflow reads "
                    "them from git (see docs/delivery.md): they go to `dags/`",
                )
            )
    if args.jinja_file:
        dropped.append(
            Dropped(
                f"--jinja-file {args.jinja_file}",
                "kedro-gitops generates the DAG from the manifest; express operator settings "
                "as `executors` and `tasks` rules",
            )
        )
    if args.tags:
        dropped.append(
            Dropped(
                f"--tags {args.tags}",
                "kedro-gitops deploys whole pipelines: register one with only these nodes "
                "(`pipeline.only_nodes_with_tags(...)` in pipeline_registry.py) and deploy it",
            )
        )
    return output, dropped


def manifest_text(
    *,
    files: list[str],
    defaults: dict[str, Any],
    environment: dict[str, str],
    dags: list[dict[str, Any]],
    output: str,
    dropped: list[Dropped],
) -> str:
    sources = ", ".join(files) or "no airflow* file: kedro-airflow's template defaults"
    lines = [
        schema_modeline(),
        "# Migrated from kedro-airflow by `kedro-gitops migrate`",
        f"# ({sources}).",
        "# `kedro-gitops plan` shows the DAGs; `kedro-gitops compile` writes them into `output`.",
        "version: 1",
        "project:",
        "  path: .",
        f"output: {yaml_value(output)}",
        "",
        "# The `default` block, with the values of kedro-airflow's template for what it omits.",
        "defaults:",
        *(f"  {key}: {yaml_value(value)}" for key, value in defaults.items()),
        "",
        "environments:",
        f"  {yaml_value(environment['kedro_env'])}: {yaml_value(environment)}",
        "",
        "dags:",
    ]
    for dag in dags:
        first, *rest = dag.items()
        lines.append(f"  - {first[0]}: {yaml_value(first[1])}")
        lines += [f"    {key}: {yaml_value(value)}" for key, value in rest]
    if dropped:
        lines += ["", "# Not carried over (`kedro-gitops migrate` printed a hint for each):"]
        lines += [f"#   {escape(item.what)}" for item in dropped]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from .cli import INVALID
    from .manifest import parse_manifest
    from .starter import compile_once, write_new

    project = find_project(Path.cwd())
    manifest = project / MANIFEST
    if manifest.exists() and not args.force:
        say(f"kedro-gitops migrate: {shown(manifest)} exists; --force replaces it")
        return INVALID
    files, blocks = read_config(project, args.env)
    pipelines = chosen_pipelines(args, project)
    output, dropped = option_notes(args, project)
    layers: dict[str, dict[str, Any]] = {}
    for name, (block, source) in blocks.items():
        if name == "default" or name in pipelines:
            layers[name] = settings_of(block, f"{name}.", f" ({source})", dropped)
        else:
            dropped.append(
                Dropped(
                    f"{name} ({source})",
                    f"a block for pipeline `{name}`, which these options do not convert: pass "
                    f"--pipeline {name} or --all",
                )
            )
    given = settings_of(args.params, "--params ", "", dropped)
    template = {k: setting(k, v) for k, v in TEMPLATE_DEFAULTS.items()}
    defaults = dag_settings([template, layers.get("default", {}), given])
    groups = "memory" if args.group_in_memory else args.group_by
    dags = []
    for name in pipelines:
        stack = [template, layers.get("default", {}), layers.get(name, {}), given]
        entry: dict[str, Any] = {"pipeline": name, "schedule": schedule_of(stack)}
        if groups:
            entry["groups"] = [{"by": groups}]
        entry.update({k: v for k, v in dag_settings(stack).items() if defaults.get(k) != v})
        dags.append(entry)
    environment = {"kedro_env": args.env}
    if args.conf_source:
        environment["conf_source"] = args.conf_source
    text = manifest_text(
        files=files,
        defaults=defaults,
        environment=environment,
        dags=dags,
        output=output,
        dropped=dropped,
    )
    checked = parse_manifest(text, MANIFEST)  # what migrate writes always passes the schema
    if has_errors(checked.diagnostics):
        raise CompileError(checked.diagnostics)
    write_new(manifest, text, force=True)
    if dropped:
        say("not carried over:")
        for item in dropped:
            say(f"  - {item.what}")
            say(f"    hint: {item.hint}")
    for note in notes(args, project, pipelines):
        say(f"note: {note}")
    return compile_once(manifest, args)


def notes(args: argparse.Namespace, project: Path, pipelines: list[str]) -> list[str]:
    found = [
        f"kedro-airflow named every DAG `{package_slug(project)}`; these are named "
        "`{pipeline}_{environment}`: set `dag_id` on an entry to keep a DAG's run history"
    ]
    if args.env == DEFAULT_ENV:
        found.append(
            f"environment `{DEFAULT_ENV}` (kedro-airflow's default) is usually git-ignored "
            "(credentials): a checkout on a worker lacks it; pass --env to deploy another"
        )
    if args.all and DEFAULT_PIPELINE in pipelines and len(pipelines) > 1:
        found.append(
            "--all converts `__default__` too, which usually sums the other pipelines: remove "
            "its entry unless it is deployed on purpose"
        )
    old = project / "airflow_dags"
    if old.is_dir() and any(old.glob("*.py")):
        found.append(
            f"{shown(old)}/ holds the DAG files kedro-airflow wrote: remove them once the new "
            "DAGs run"
        )
    return found


def add_parser(sub: Any, prog: str) -> None:
    """The `migrate` subcommand: the options of `kedro airflow create`, and its own."""
    text = "write pipelines.deploy.yaml from a project's kedro-airflow setup, then compile"
    cmd = sub.add_parser(
        "migrate",
        help=text,
        description=text + ". Run it inside the Kedro project with the options given to "
        "`kedro airflow create`; it reads conf/base and conf/<env> airflow* files.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes:\n  0 done (what is not carried over is listed, with a hint)\n"
        f"  2 not a Kedro project, {MANIFEST} exists (without --force), or the compile found\n"
        "    errors (the manifest written stays)\n  3 internal error (a bug)\n\n"
        f"example:\n  {prog} migrate --pipelines data_processing,data_science --env prod "
        "--group-by memory",
    )
    which = cmd.add_mutually_exclusive_group()
    which.add_argument(
        "-p",
        "--pipeline",
        "--pipelines",
        dest="pipelines",
        action="append",
        metavar="NAMES",
        help="pipelines to deploy, comma-separated or repeated (default: __default__)",
    )
    which.add_argument("--all", action="store_true", help="every registered pipeline")
    cmd.add_argument(
        "-e", "--env", default=DEFAULT_ENV, help=f"Kedro environment (default: {DEFAULT_ENV})"
    )
    cmd.add_argument(
        "-g",
        "--group-by",
        type=str.lower,
        choices=("memory", "namespace"),
        help="group nodes into tasks: by in-memory datasets, or by top-level namespace",
    )
    cmd.add_argument("--group-in-memory", action="store_true", help="the same as --group-by memory")
    cmd.add_argument("-t", "--target-dir", help="where the DAG files went (the manifest's output)")
    cmd.add_argument("-j", "--jinja-file", help="a custom template (not carried over)")
    cmd.add_argument("--conf-source", help="Kedro --conf-source of the environment")
    cmd.add_argument(
        "--params",
        type=params,
        default={},
        metavar="KEY=VALUE,...",
        help="settings that override the airflow* files, as kedro-airflow takes them",
    )
    cmd.add_argument("--tags", help="a node filter (not carried over)")
    cmd.add_argument("--force", action="store_true", help=f"replace an existing {MANIFEST}")
    cmd.add_argument(
        "--format", choices=("text", "json"), default="text", help="text or json (diagnostics)"
    )
    cmd.add_argument(
        "--no-cache",
        action="store_true",
        help="read the Kedro project even when its cached snapshot is current",
    )
    cmd.set_defaults(setup=run)
