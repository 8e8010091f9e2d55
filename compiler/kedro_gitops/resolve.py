"""Resolve the manifest against the project snapshot: one Target per (pipeline, environment)."""

from __future__ import annotations

import re
import string
from collections import defaultdict
from dataclasses import dataclass

from .diagnostics import Diagnostic, did_you_mean
from .manifest import POD_TYPES, DagSpec, Environment, Executor, Manifest
from .snapshot import EnvSnapshot, Node, ProjectSnapshot, env_key

_DAG_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")  # Airflow's ids; `<dag_id>.py` fits in 255 bytes
_PLACEHOLDERS = {"pipeline", "environment"}
_ALLOWED = "the placeholders are `{pipeline}` and `{environment}`, without `!` or `:`"
TAG_MAX = 100  # Airflow refuses a DAG with a longer tag


@dataclass(frozen=True)
class Target:
    """One DAG to generate: a pipeline deployed to an environment with an executor."""

    spec: DagSpec
    dag_id: str
    environment: Environment
    executor: Executor
    nodes: tuple[Node, ...]
    catalog: EnvSnapshot
    package: str = ""  # the project's Python package


def _template_problem(template: str) -> tuple[str, str] | None:
    """Why a dag_id template cannot be formatted, and a hint; None when it can."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"malformed dag_id `{template}`: {exc}", _ALLOWED
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _PLACEHOLDERS:
            return f"unknown placeholder `{{{name}}}` in dag_id", did_you_mean(name, _PLACEHOLDERS)
        if spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return f"placeholder `{{{shown}}}` in dag_id has a conversion or format", _ALLOWED
    return None


def _dag_id(spec: DagSpec, environment: str) -> tuple[str, list[Diagnostic]]:
    template = spec.dag_id or "{pipeline}_{environment}"
    problem = _template_problem(template)
    if problem:
        message, hint = problem
        return "", [Diagnostic(spec.at("dag_id"), "error", "invalid-dag-id", message, hint=hint)]
    pipeline = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.pipeline).strip("_") or "default"
    dag_id = template.format(pipeline=pipeline, environment=environment)
    if not _DAG_ID.fullmatch(dag_id):
        return dag_id, [
            Diagnostic(
                spec.at("dag_id"),
                "error",
                "invalid-dag-id",
                f"dag_id {dag_id!r} is not a valid Airflow id"
                + (f" ({len(dag_id)} characters)" if len(dag_id) > 250 else ""),
                hint="use at most 250 ASCII letters, digits, `_`, `.` or `-`",
            )
        ]
    return dag_id, []


def _tag_problems(spec: DagSpec, environment: Environment) -> list[Diagnostic]:
    """The tags every DAG file gets, `pipeline:<name>` and `env:<name>`, within Airflow's limit."""
    automatic = (
        ("pipeline", "pipeline", spec.pipeline, spec.at("pipeline")),
        ("env", "environment", environment.name, environment.location),
    )
    return [
        Diagnostic(
            where,
            "error",
            "tag-too-long",
            f"the DAG tag `{prefix}:{name[:40]}...` is {len(prefix) + 1 + len(name)} "
            f"characters long; Airflow allows {TAG_MAX}",
            hint=f"shorten the {noun} name to at most {TAG_MAX - len(prefix) - 1} characters",
        )
        for prefix, noun, name, where in automatic
        if len(prefix) + 1 + len(name) > TAG_MAX
    ]


def _executor(
    manifest: Manifest, spec: DagSpec, environment: Environment
) -> tuple[Executor | None, list[Diagnostic]]:
    name, where = spec.executor_for(environment)
    executor = manifest.executors.get(name)
    if executor is None:
        hint = did_you_mean(name, manifest.executors)
        return None, [
            Diagnostic(where, "error", "unknown-executor", f"unknown executor `{name}`", hint=hint)
        ]
    image = executor.option("image")
    if executor.type in POD_TYPES and "@sha256:" not in image:
        return executor, [
            Diagnostic(
                executor.location,
                "warning",
                "image-not-pinned",
                f"executor `{name}`: image `{image}` is not pinned to a digest",
                hint="use `name@sha256:...` so every run of a DAG file uses the same code",
            )
        ]
    return executor, []


def _missing_env(environment: Environment, catalog: EnvSnapshot) -> Diagnostic:
    conf = environment.conf_source or "conf"
    where = f"`{conf}/{environment.kedro_env}`"
    return Diagnostic(
        environment.kedro_env_at,
        "error",
        "unknown-kedro-env",
        f"environment `{environment.name}`: the project has no Kedro environment "
        f"`{environment.kedro_env}` (no {where})",
        hint=did_you_mean(environment.kedro_env, catalog.conf_envs),
    )


def resolve(manifest: Manifest, project: ProjectSnapshot) -> tuple[list[Target], list[Diagnostic]]:
    """Targets for every DAG entry and environment, and every problem found on the way."""
    targets: list[Target] = []
    problems: list[Diagnostic] = []
    for spec in manifest.dags:
        for i, env_name in enumerate(spec.environments):
            environment = manifest.environments.get(env_name)
            if environment is None:
                problems.append(
                    Diagnostic(
                        spec.locations.get(f"environments[{i}]", spec.at("environments")),
                        "error",
                        "unknown-environment",
                        f"unknown environment `{env_name}`",
                        hint=did_you_mean(env_name, manifest.environments),
                    )
                )
                continue
            executor, found = _executor(manifest, spec, environment)
            problems += found
            dag_id, id_problems = _dag_id(spec, env_name)
            problems += id_problems + _tag_problems(spec, environment)
            catalog = project.environments[
                env_key(environment.kedro_env, environment.conf_source, environment.env)
            ]
            if catalog.conf_missing:
                problems.append(_missing_env(environment, catalog))
                continue
            nodes = catalog.pipelines.get(spec.pipeline)
            if nodes is None:
                problems.append(
                    Diagnostic(
                        spec.at("pipeline"),
                        "error",
                        "unknown-pipeline",
                        f"unknown pipeline `{spec.pipeline}`",
                        hint=did_you_mean(spec.pipeline, catalog.pipeline_names),
                    )
                )
                break
            if executor is not None and not id_problems:
                targets.append(
                    Target(
                        spec, dag_id, environment, executor, nodes, catalog, project.package_name
                    )
                )
    seen: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        seen[target.dag_id].append(target)
    for dag_id, same in sorted(seen.items()):
        if len(same) > 1:
            first = same[0].spec
            problems += [
                Diagnostic(
                    t.spec.at("dag_id"),
                    "error",
                    "dag-id-collision",
                    f"dag_id `{dag_id}` is also produced by dags[{first.index}] "
                    f"({first.pipeline}, {same[0].environment.name})",
                    hint="set `dag_id` with `{pipeline}` and `{environment}` placeholders",
                )
                for t in same[1:]
            ]
    return targets, problems
