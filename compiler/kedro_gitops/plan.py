"""Build the Plan: for each DAG, its tasks, edges and how each task runs (pure)."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field, replace
from typing import Any

from . import assets
from .diagnostics import CompileError, Diagnostic, Location, did_you_mean, has_errors, merged
from .grouping import Edge, Task, group_nodes, unmatched
from .manifest import POD_TYPES, Environment, Manifest, Settings
from .resolve import Target, resolve
from .runtime import (
    Interpreter,
    data_warnings,
    interpreter,
    local_reads_and_writes,
    unproduced_inputs,
)
from .schedule import Schedule
from .snapshot import EnvSnapshot, Node, ProjectSnapshot, base_name
from .tasks import (
    TaskOptions,
    docker_resources,
    kubernetes_resources,
    task_resources,
    task_settings,
)


@dataclass(frozen=True)
class DagPlan:
    """Everything the renderer needs for one DAG file."""

    dag_id: str
    pipeline: str
    environment: str
    kedro_env: str
    conf_source: str | None
    env: tuple[tuple[str, str], ...]
    description: str
    schedule: Schedule
    settings: Settings
    executor: str
    runtime: str
    python: Interpreter
    project_dir: str
    package: str
    workdir: str | None
    tasks: tuple[Task, ...]
    edges: tuple[Edge, ...]
    datasets: dict[Edge, tuple[str, ...]] = field(compare=False, repr=False)
    options: dict[str, TaskOptions] = field(default_factory=dict, compare=False, repr=False)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)
    executor_options: tuple[tuple[str, Any], ...] = ()
    # Airflow Assets (name, URI) the DAG touches; per task the names it writes (outlets) and
    # reads from other tasks of the DAG (inlets); the names a data schedule waits for.
    assets: tuple[tuple[str, str], ...] = ()
    task_assets: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    schedule_assets: tuple[str, ...] = ()
    local_reads: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    executor_location: Location = field(default=Location(""), compare=False, repr=False)
    environment_location: Location = field(default=Location(""), compare=False, repr=False)
    params: tuple[tuple[str, Any], ...] = ()  # Kedro parameter (dotted path), its default
    notifications: tuple[tuple[str, str], ...] = ()  # on_failure/on_success/on_retry: target
    setup: Setup | None = None
    # What the UI docs and TaskGroups are written from: the nodes, their datasets' types, and
    # whether the tasks are the namespaces already (no TaskGroups then).
    nodes: tuple[Node, ...] = field(default=(), compare=False, repr=False)
    dataset_types: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    by_namespace: bool = False

    @property
    def template(self) -> str:
        """The executor template: a `venv` is a `subprocess` with its own interpreter, and a
        `gke` pod is a `kubernetes` pod on a GKE cluster."""
        return {"venv": "subprocess", "gke": "kubernetes"}.get(self.executor, self.executor)

    def row(self, task: Task) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """A task as the generated file's table holds it: id, nodes, non-default options."""
        options = self.options.get(task.task_id, TaskOptions())
        extra = dict(options.settings)
        if options.resources:
            extra["resources"] = options.resources
        return task.task_id, task.nodes, extra

    @property
    def filename(self) -> str:
        return f"{self.dag_id}.py"

    @property
    def input_hash(self) -> str:
        """A hash of everything the DAG file is rendered from."""
        scalars = {k: v for k, v in vars(self).items() if k not in _TABLES}
        data = [
            repr(sorted(scalars.items())),
            [(t.task_id, t.nodes, t.rule, t.name, self.row(t)[2]) for t in self.tasks],
            sorted(self.datasets.items()),
            sorted(self.presets.items()),
            self.nodes,
            self.dataset_types,
        ]
        text = json.dumps(data, sort_keys=True, ensure_ascii=True, default=repr)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# Executor options the plan turns into fields of its own; the rest reach the template as they are.
_RUNTIME_OPTIONS = ("env", "resources", "python", "runtime", "package", "workdir", "conf_source")
_TABLES = (
    "tasks",
    "datasets",
    "options",
    "presets",
    "local_reads",
    "executor_location",
    "environment_location",
    "nodes",
    "dataset_types",
)


@dataclass(frozen=True)
class Plan:
    manifest: str
    output: str
    dags: tuple[DagPlan, ...]
    diagnostics: tuple[Diagnostic, ...]


def cli_unsafe(name: str) -> bool:
    """True when `kedro run --nodes` would split or strip this node name."""
    depth = 0
    for char in name:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            return True
    return name != name.strip()


def _project_dir(manifest: Manifest, target: Target) -> str:
    """Project directory as the DAG file sees it: the executor's, or relative to `output`."""
    if target.executor.runtime != "checkout":
        return ""
    configured = target.executor.option("project_dir")
    if configured:
        return str(configured)
    project = posixpath.normpath(manifest.project_path)
    if posixpath.isabs(project):
        return project
    return posixpath.relpath(project, posixpath.normpath(manifest.output))


def _catalog_file(environment: Environment, catalog: EnvSnapshot) -> str:
    """Where the environment's catalog is: its top-most catalog file (`conf/base/catalog.yml`),
    `<folder>/*.yml` when that is a folder of them, or the file Kedro would read when it has
    none."""
    by_folder: dict[tuple[str, str], list[str]] = {}
    for path in catalog.catalog_files:
        folder = posixpath.dirname(path)
        by_folder.setdefault((folder, posixpath.splitext(path)[1]), []).append(path)
    shown = [
        files[0] if len(files) == 1 else f"{folder}/*{suffix}"
        for (folder, suffix), files in by_folder.items()
    ]
    if not shown:
        return f"{environment.conf_source or 'conf'}/{environment.kedro_env}/catalog.yml"
    return min(shown, key=lambda path: (path.count("/"), path))


UNSUPPORTED = "__kedro_gitops_unsupported__"  # introspect.py's mark of a value that is not JSON
_MISSING = object()


def dag_params(
    target: Target, params_file: str
) -> tuple[tuple[tuple[str, Any], ...], list[Diagnostic]]:
    """The DAG's Params with the environment's values as defaults; unknown names and values
    that are not JSON data are errors."""
    spec, values, problems = target.spec, target.catalog.parameter_values, []
    found = []
    for name in spec.params:
        where = spec.at(f"params.{name}")
        value = values.get(name, _MISSING)
        if value is _MISSING:
            known = target.catalog.parameter_paths or target.catalog.parameters
            problems.append(
                Diagnostic(
                    where,
                    "error",
                    "unknown-parameter",
                    f"unknown parameter `{name}` in environment `{target.environment.kedro_env}`",
                    hint=did_you_mean(name, known) if known else f"define it in `{params_file}`",
                )
            )
        elif isinstance(value, dict) and UNSUPPORTED in value:
            problems.append(
                Diagnostic(
                    where,
                    "error",
                    "unsupported-parameter",
                    f"parameter `{name}` holds a {value[UNSUPPORTED]}, not JSON data: an "
                    "Airflow Param cannot show it",
                    hint="name a parameter holding strings, numbers, booleans, lists or mappings",
                )
            )
        else:
            found.append((name, value))
    names = [n for n, _ in found]
    problems += [
        Diagnostic(
            spec.at(f"params.{name}"),
            "error",
            "overlapping-parameters",
            f"parameter `{name}` is inside `{outer}`, also a Param: a run could set both",
            hint=f"keep one of `{outer}` and `{name}`",
        )
        for name in names
        for outer in names
        if name.startswith(outer + ".")
    ]
    return tuple(found), problems


@dataclass(frozen=True)
class Setup:
    """A setup step: the pipeline run first, its nodes, and the outputs later tasks receive."""

    pipeline: str
    nodes: tuple[str, ...]
    outputs: tuple[str, ...]


SETUP_TASK = "kedro_setup"


def setup_step(target: Target, task_ids: set[str]) -> tuple[Setup | None, list[Diagnostic]]:
    """The DAG's setup step (pipeline, its nodes in run order, outputs), and its problems: an
    unknown pipeline or output, nodes that the DAG runs too, a task already named like the setup
    task."""
    spec = target.spec
    if not spec.setup_pipeline:
        return None, []
    where = spec.at("setup.pipeline")
    nodes = target.catalog.pipelines.get(spec.setup_pipeline)
    if nodes is None:
        hint = did_you_mean(spec.setup_pipeline, target.catalog.pipeline_names)
        message = f"setup: unknown pipeline `{spec.setup_pipeline}`"
        return None, [Diagnostic(where, "error", "unknown-pipeline", message, hint=hint)]
    problems = []
    # What Kedro's session.run hands back: the outputs no node of the pipeline reads.
    produced = sorted({d for n in nodes for d in n.outputs} - {d for n in nodes for d in n.inputs})
    problems += [
        Diagnostic(
            spec.at("setup.outputs"),
            "error",
            "unknown-setup-output",
            f"setup: pipeline `{spec.setup_pipeline}` has no output `{name}` (one that none of "
            "its nodes reads)",
            hint=did_you_mean(name, produced) if produced else "its nodes output nothing",
        )
        for name in spec.setup_outputs
        if name not in produced
    ]
    shared = sorted({n.name for n in nodes} & {n.name for n in target.nodes})
    if shared:
        problems.append(
            Diagnostic(
                where,
                "error",
                "setup-overlap",
                f"setup: pipeline `{spec.setup_pipeline}` shares node(s) "
                + ", ".join(f"`{n}`" for n in shared)
                + f" with pipeline `{spec.pipeline}`: they would run twice",
                hint="deploy a pipeline without the setup nodes (e.g. not `__default__`)",
            )
        )
    if SETUP_TASK in task_ids:
        problems.append(
            Diagnostic(
                where,
                "error",
                "setup-task-id",
                f"a task of the DAG is already named `{SETUP_TASK}`",
                hint="rename that node or group",
            )
        )
    return Setup(spec.setup_pipeline, tuple(n.name for n in nodes), spec.setup_outputs), problems


def default_description(pipeline: str, environment: str) -> str:
    """A DAG's description when the manifest gives none (plain text: the UI shows no Markdown)."""
    return f"Kedro pipeline {pipeline} in environment {environment}, deployed by kedro-gitops."


def plan_dag(
    manifest: Manifest, target: Target, producers: dict[str, Target]
) -> tuple[DagPlan, list[Diagnostic], frozenset[int]]:
    """The DAG of one target, its warnings, and the indices of the rules that formed a task
    (`producers`: the DAG that writes each Asset, see `assets.producers`)."""
    spec, environment = target.spec, target.environment
    catalog_file = _catalog_file(environment, target.catalog)
    graph, problems = group_nodes(
        target.nodes,
        target.catalog.persisted,
        spec.rules,
        spec.at("pipeline"),
        catalog_file,
    )
    problems += [
        Diagnostic(
            spec.at("pipeline"),
            "error",
            "dataset-not-found",
            f"`{dataset}` is read by the pipeline, written by none of its nodes, and in memory: "
            "`kedro run` would not find it",
            hint=f"add `{dataset}` to `{catalog_file}`, or deploy the pipeline "
            "that produces it in the same DAG",
        )
        for dataset in unproduced_inputs(target.nodes, target.catalog)
    ]
    reads, writes = local_reads_and_writes(target.nodes, target.catalog)
    problems += data_warnings(
        target.executor.runtime,
        (reads, writes),
        environment.kedro_env_at,
        catalog_file,
    )
    if target.executor.type in ("subprocess", "venv"):
        problems += [
            Diagnostic(
                spec.at("pipeline"),
                "error",
                "unsafe-node-name",
                f"node name {node.name!r} cannot be passed to `kedro run --nodes`",
                hint="rename the node (no top-level commas or edge spaces), or use a "
                "`python` executor",
            )
            for node in target.nodes
            if cli_unsafe(node.name)
        ]
    setup, found_setup = setup_step(target, {t.task_id for t in graph.tasks})
    problems += found_setup
    params, found_params = dag_params(
        target, f"{environment.conf_source or 'conf'}/{environment.kedro_env}/parameters.yml"
    )
    problems += found_params
    nodes = {n.name: n for n in target.nodes}
    rules = (*spec.task_rules, *manifest.task_rules)
    resources, presets, found = task_resources(
        graph.tasks, nodes, target.executor.option("resources"), target.executor.location
    )
    problems += found
    options = {}
    for task in graph.tasks:
        settings, sources = task_settings([nodes[n] for n in task.nodes], rules)
        options[task.task_id] = TaskOptions(
            tuple(settings.items()), tuple(sources.items()), resources.get(task.task_id)
        )
    convert = {**dict.fromkeys(POD_TYPES, kubernetes_resources), "docker": docker_resources}.get(
        target.executor.type
    )
    env = dict(environment.env) | dict(target.executor.option("env", {}))
    dag = DagPlan(
        dag_id=target.dag_id,
        pipeline=spec.pipeline,
        environment=environment.name,
        kedro_env=environment.kedro_env,
        conf_source=target.executor.option("conf_source", environment.conf_source),
        env=tuple(sorted(env.items())),
        description=spec.description or default_description(spec.pipeline, environment.name),
        schedule=spec.schedule,
        settings=replace(spec.settings, executor=target.executor.name),
        executor=target.executor.type,
        runtime=target.executor.runtime,
        python=interpreter(target.executor),
        project_dir=_project_dir(manifest, target),
        package=str(target.executor.option("package", "")) or target.package,
        workdir=target.executor.option("workdir"),
        tasks=graph.tasks,
        edges=graph.edges,
        datasets=graph.datasets,
        options=options,
        presets={k: convert(v) for k, v in presets.items()} if convert else {},
        executor_options=tuple(
            (k, v) for k, v in target.executor.options if k not in _RUNTIME_OPTIONS
        ),
        local_reads=tuple(reads) if target.executor.runtime == "checkout" else (),
        executor_location=target.executor.location,
        environment_location=environment.kedro_env_at,
        params=params,
        notifications=spec.notifications,
        setup=setup,
        nodes=tuple(target.nodes),
        dataset_types=tuple(sorted(target.catalog.datasets.items())),
        by_namespace=any(rule.by == "namespace" for rule in spec.rules),
    )
    if spec.settings.assets:
        dag = replace(dag, **_task_assets(target, graph.tasks, producers))
    return dag, problems, graph.used_rules


def _task_assets(
    target: Target, tasks: tuple[Task, ...], producers: dict[str, Target]
) -> dict[str, Any]:
    """The Assets of a DAG's tasks: each persisted dataset a task writes is an outlet; each one
    it reads that another task of this DAG or another deployed DAG writes is an inlet."""
    nodes = {n.name: n for n in target.nodes}
    catalog, kedro_env = target.catalog, target.environment.kedro_env
    rows, named = [], {}
    stored = {  # every persisted dataset of the DAG, by its name in the nodes: its base name
        d: base_name(d)
        for d in {d for n in target.nodes for d in (*n.inputs, *n.outputs)}
        if catalog.persisted(d)
    }
    every = {stored[d] for n in target.nodes for d in n.outputs if d in stored}
    elsewhere = {  # what this DAG reads and another DAG writes: that DAG's Asset
        d: producers[name]
        for d in set(stored.values()) - every
        if (name := assets.asset_name(target.package, kedro_env, d)) in producers
    }
    for task in tasks:
        members = [nodes[n] for n in task.nodes]
        outlets = sorted({stored[d] for n in members for d in n.outputs if d in stored})
        read = {stored[d] for n in members for d in n.inputs if d in stored}
        inlets = sorted(d for d in read if (d in every and d not in outlets) or d in elsewhere)
        for dataset in (*outlets, *inlets):
            if dataset not in named:
                named[dataset] = assets.asset_of(elsewhere.get(dataset, target), dataset)
        if outlets or inlets:
            rows.append(
                (
                    task.task_id,
                    tuple(named[d][0] for d in outlets),
                    tuple(named[d][0] for d in inlets),
                )
            )
    return {"assets": tuple(sorted(named.values())), "task_assets": tuple(rows)}


def notification_problems(manifest: Manifest, project: ProjectSnapshot) -> list[Diagnostic]:
    """A notification whose module the project's interpreter cannot find, or which defines no
    such name, is an error: Airflow would only find out when a run fails."""
    problems = [
        Diagnostic(
            spec.at("deadline" if spec.settings.deadline else "notifications.on_deadline_missed"),
            "error",
            "deadline-callback",
            "`deadline` and `notifications.on_deadline_missed` go together: "
            + ("no callback to call" if spec.settings.deadline else "no deadline to miss"),
            hint="set both (in `defaults` or on the DAG), or neither",
        )
        for spec in manifest.dags
        if bool(spec.settings.deadline) != ("on_deadline_missed" in dict(spec.notifications))
    ]
    return problems + [
        Diagnostic(
            spec.at(f"notifications.{kind}"),
            "error",
            "unknown-notification",
            f"{kind}: `{target}` cannot be imported: {project.callbacks[target]}",
            hint="name a function or notifier at the top level of a module of the project "
            "(or of a distribution installed beside it), as `package.module:name`; Airflow "
            "imports it only when it calls it",
        )
        for spec in manifest.dags
        for kind, target in spec.notifications
        if project.callbacks.get(target)
    ]


def unmatched_task_rules(manifest: Manifest, project: ProjectSnapshot) -> list[Diagnostic]:
    """Task rules naming a tag or node glob that no deployed node has: a typo would otherwise
    drop a retry or a timeout silently. Nodes come from every environment the project was read
    in, so an error elsewhere in a DAG entry does not make its nodes look absent."""
    per_dag = {
        spec.index: [
            node
            for env in project.environments.values()
            for node in env.pipelines.get(spec.pipeline, ())
        ]
        for spec in manifest.dags
    }
    problems = []
    if all(per_dag.values()):  # an unknown pipeline hides which nodes a rule could match
        every = [n for nodes in per_dag.values() for n in nodes]
        for rule in manifest.task_rules:
            where, scope = rule.location, "of any deployed DAG"
            problems += unmatched(rule.label, where, rule.nodes, rule.tags, every, scope=scope)
    for spec in manifest.dags:
        if per_dag[spec.index]:
            for rule in spec.task_rules:
                nodes, scope = per_dag[spec.index], f"of dags[{spec.index}]"
                where = rule.location
                problems += unmatched(rule.label, where, rule.nodes, rule.tags, nodes, scope=scope)
    return problems


def build_plan(manifest: Manifest, project: ProjectSnapshot) -> Plan:
    """The whole Plan; raises CompileError carrying every error (and warning) found."""
    targets, problems = resolve(manifest, project)
    problems += manifest.diagnostics
    waits_for, found_schedules = assets.schedule_assets(targets)
    problems += found_schedules
    problems += notification_problems(manifest, project)
    producers = assets.producers(targets)
    dags = []
    used: set[tuple[int, int]] = set()
    failed: set[int] = set()
    for target in targets:
        try:
            dag, found, rules = plan_dag(manifest, target, producers)
        except CompileError as exc:
            problems += [d.about(target.dag_id, target.environment.name) for d in exc.diagnostics]
            failed.add(target.spec.index)
            continue
        problems += [d.about(target.dag_id, target.environment.name) for d in found]
        used |= {(target.spec.index, r) for r in rules}
        if target.dag_id in waits_for:
            waited = waits_for[target.dag_id]
            dag = replace(
                dag,
                assets=tuple(sorted({*dag.assets, *waited})),
                schedule_assets=tuple(name for name, _ in waited),
            )
        dags.append(dag)
    planned = {t.spec.index for t in targets} - failed
    problems += [
        Diagnostic(
            rule.location,
            "warning",
            "rule-unused",
            f"{rule.label} matches no node in any environment of dags[{spec.index}]",
            hint="remove it, or check that an earlier rule does not take its nodes",
        )
        for spec in manifest.dags
        if spec.index in planned
        for rule in spec.rules
        if (spec.index, rule.index) not in used
    ]
    problems += unmatched_task_rules(manifest, project)
    if has_errors(problems):
        raise CompileError(problems)
    return Plan(
        manifest=posixpath.basename(manifest.file),
        output=manifest.output,
        dags=tuple(sorted(dags, key=lambda d: d.dag_id)),
        diagnostics=tuple(merged(problems)),
    )
