"""What the Airflow UI shows of a DAG: display names, namespace TaskGroups and Markdown docs (pure).

Everything here is computed at compile time and written into the DAG file as string constants, so
Airflow's parser does no work for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grouping import Task, short_hash, slug
from .plan import DagPlan, default_description
from .snapshot import Node, is_parameter

GROUP_ID_LIMIT = 200  # Airflow's limit for a TaskGroup id
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # a group id has no dots


@dataclass(frozen=True)
class Group:
    """A TaskGroup for a Kedro namespace; parent_id '' is the DAG's root group."""

    group_id: str
    name: str  # the namespace's last part, verbatim
    parent_id: str
    doc: str


def code(text: str) -> str:
    """`text` as a Markdown code span, whatever backticks it holds."""
    if "`" not in text and text.strip():
        return f"`{text}`"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_RULE = re.compile(r"groups\[(\d+)\] (\w+)")


def rule_text(rule: str) -> str:
    """How the UI says what placed a task's nodes together: `groups[0] memory (fused groups[1]
    tag_prefix)` reads "grouped by rule 1 of `groups` (`by: memory`), fused with rule 2 of
    `groups` (`by: tag_prefix`)"; '' for a node no rule took."""
    if rule == "node":
        return ""

    def one(label: str) -> str:
        match = _RULE.fullmatch(label)
        if match is None:
            return code(label)
        return f"rule {int(match[1]) + 1} of {code('groups')} ({code('by: ' + match[2])})"

    main, _, fused = rule.partition(" (fused ")
    text = "grouped by " + one(main)
    if fused:
        text += ", fused with " + ", ".join(one(r) for r in fused.rstrip(")").split(", "))
    return text


def task_namespace(task: Task, nodes: dict[str, Node]) -> str:
    """The namespace all of a task's nodes share (their longest common namespace), or ''."""
    paths = [(nodes[n].namespace or "").split(".") if n in nodes else [""] for n in task.nodes]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1 or not parts[0]:
            break
        common.append(parts[0])
    return ".".join(common)


def task_groups(dag: DagPlan) -> tuple[list[Group], dict[str, str]]:
    """TaskGroups for the namespaces of the tasks (parents first), and each task's group id;
    none when the DAG's tasks are its namespaces already. Group ids never equal a task id."""
    if dag.by_namespace:
        return [], {t.task_id: "" for t in dag.tasks}
    nodes = {n.name: n for n in dag.nodes}
    of_task = {t.task_id: task_namespace(t, nodes) for t in dag.tasks}
    namespaces: set[str] = set()
    for namespace in of_task.values():
        parts = namespace.split(".") if namespace else []
        namespaces |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    used = {t.task_id for t in dag.tasks}
    ids: dict[str, str] = {"": ""}
    groups = []
    for namespace in sorted(namespaces, key=lambda ns: (ns.count("."), ns)):
        group_id = _GROUP_UNSAFE.sub("_", slug(namespace, GROUP_ID_LIMIT))
        if group_id in used:
            group_id = f"{group_id[: GROUP_ID_LIMIT - 12]}_ns_{short_hash(namespace)}"
        used.add(group_id)
        ids[namespace] = group_id
        parent = namespace.rpartition(".")[0]
        inside = [t for t, ns in of_task.items() if f"{ns}.".startswith(f"{namespace}.")]
        doc = f"Kedro namespace {code(namespace)}: {len(inside)} task(s).\n"
        groups.append(Group(group_id, namespace.rpartition(".")[2], ids[parent], doc))
    return groups, {task: ids[ns] for task, ns in of_task.items()}


def task_display_name(task: Task) -> str:
    """The Kedro name of a task: its one node's name, or the name of the group it runs."""
    return task.name or task.task_id


def _schedule(dag: DagPlan) -> str:
    schedule = dag.schedule
    data = ", ".join(code(name) for name in dag.schedule_assets)
    if schedule.kind == "none":
        if data:
            return f"once all of these Assets are updated: {data}"
        return "none (manual and API-triggered runs only)"
    if schedule.kind == "duration":
        timed = f"every {code(schedule.value)}"
    else:
        timed = f"{code(schedule.value)} ({dag.settings.timezone})"
    return f"{timed}, or once all of these Assets are updated: {data}" if data else timed


def dag_doc(dag: DagPlan, manifest: str) -> str:
    """The DAG's doc_md: what it deploys, from where, how to regenerate it, and its tasks."""
    lines = [
        f"### Kedro pipeline {code(dag.pipeline)}, environment {code(dag.environment)}",
        "",
        *(
            [dag.description, ""]
            if dag.description != default_description(dag.pipeline, dag.environment)
            else []
        ),
        f"- Kedro environment: {code(dag.kedro_env)}"
        + (f", conf source {code(dag.conf_source)}" if dag.conf_source else ""),
        f"- executor: {code(dag.settings.executor)} ({dag.executor}, runtime {dag.runtime})",
        f"- schedule: {_schedule(dag)}",
        *(
            [
                f"- setup: Kedro pipeline {code(dag.setup.pipeline)} runs first; its outputs "
                + ", ".join(code(o) for o in dag.setup.outputs)
                + " reach every task"
            ]
            if dag.setup
            else []
        ),
        f"- manifest: {code(manifest)}",
        f"- generated by kedro-gitops; do not edit the file, regenerate it with "
        f"{code('kedro-gitops compile --manifest ' + manifest)}",
        "",
        f"#### Tasks ({len(dag.tasks)})",
        "",
    ]
    for task in dag.tasks:
        names = ", ".join(code(n) for n in task.nodes)
        placed = rule_text(task.rule)
        lines.append(f"- {code(task.task_id)}: {names}" + (f"; {placed}" if placed else ""))
    return "\n".join(lines) + "\n"


def dataset_labels(dag: DagPlan) -> dict[str, str]:
    """How task docs show each dataset of the DAG: its name and its type."""
    types = dict(dag.dataset_types)
    names = {d for n in dag.nodes for d in (*n.inputs, *n.outputs)}
    return {
        d: f"{code(d)} ({'parameters' if is_parameter(d) else types.get(d) or 'MemoryDataset'})"
        for d in names
    }


def task_docs(dag: DagPlan) -> dict[str, str]:
    """Each task's doc_md by task id (see `task_doc`)."""
    nodes = {n.name: n for n in dag.nodes}
    labels = dataset_labels(dag)
    return {task.task_id: task_doc(task, nodes, labels) for task in dag.tasks}


def task_doc(task: Task, nodes: dict[str, Node], labels: dict[str, str]) -> str:
    """A task's doc_md: its nodes in run order, each with its function, source and datasets."""
    placed = rule_text(task.rule)
    count = f"{len(task.nodes)} Kedro node{'s' if len(task.nodes) > 1 else ''}"
    lines = [
        f"{count} in run order, {placed}:" if placed else "A Kedro node no grouping rule took:",
        "",
    ]
    for name in task.nodes:
        lines.append(f"- **{code(name)}**")
        node = nodes.get(name)
        if node is None:
            continue
        if node.func and node.source:  # the file names the module
            where = code(f"{node.source}:{node.line}")
            lines.append(f"  - function: {code(node.func.rsplit('.', 1)[-1])} in {where}")
        elif node.func:
            lines.append(f"  - function: {code(node.func)}")
        if node.tags:
            lines.append(f"  - tags: {', '.join(code(t) for t in node.tags)}")
        for label, datasets in (("inputs", node.inputs), ("outputs", node.outputs)):
            shown = ", ".join(labels[d] for d in datasets) or "none"
            lines.append(f"  - {label}: {shown}")
    return "\n".join(lines) + "\n"


def setup_doc(dag: DagPlan) -> str:
    """The setup task's doc_md: its pipeline, nodes and the outputs later tasks receive."""
    if dag.setup is None:
        return ""
    setup = dag.setup
    nodes = ", ".join(code(n) for n in setup.nodes)
    outputs = ", ".join(f"{code(o)} (as {code('params:' + o)})" for o in setup.outputs)
    return (
        f"Kedro pipeline {code(setup.pipeline)}, run once before every other task: {nodes}.\n\n"
        f"Every later task receives its outputs as runtime parameters: {outputs}.\n"
    )
