"""Structural summary of how generated DAG files change, for review (pure).

Both sides are read from the generated text itself (its TASKS and EDGES tables and the `DAG(...)`
arguments), so a revision compiled by an older kedro-gitops compares just as well.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from .diagnostics import escape


@dataclass(frozen=True)
class DagFacts:
    dag_id: str
    operator: str
    tasks: dict[str, tuple[str, ...]]
    edges: frozenset[tuple[str, str]]
    settings: dict[str, str]
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)


# Module-level values that decide whether a task can run on the worker, by the name a reviewer
# reads; a dict of constant keys (POD, CONTAINER) is compared key by key.
RUNTIME = {
    "PYTHON": "interpreter",
    "PROJECT_DIR": "project dir",
    "PACKAGE": "package",
    "WORKDIR": "workdir",
    "PIPELINE": "pipeline",
    "KEDRO_ENV": "kedro env",
    "CONF_SOURCE": "conf source",
    "ENV": "env",
    "KEDRO_RUN": "kedro command",
    "RESOURCES": "resources",
    "SECRETS": "secrets",
    "POD": "pod",
    "CONTAINER": "container",
}


def _runtime(tree: ast.Module, text: str) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Name) and target.id in RUNTIME):
            continue
        label, value = RUNTIME[target.id], node.value
        if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) for k in value.keys):
            for key, item in zip(value.keys, value.values, strict=True):
                assert isinstance(key, ast.Constant)
                found[f"{label}.{key.value!s}"] = ast.get_source_segment(text, item) or ""
        else:
            found[label] = ast.get_source_segment(text, value) or ""
    return found


@dataclass
class DagChange:
    dag_id: str
    tasks_added: list[str] = field(default_factory=list)
    tasks_removed: list[str] = field(default_factory=list)
    tasks_renamed: list[tuple[str, str]] = field(default_factory=list)
    tasks_regrouped: list[str] = field(default_factory=list)
    edges_added: list[tuple[str, str]] = field(default_factory=list)
    edges_removed: list[tuple[str, str]] = field(default_factory=list)
    settings: list[tuple[str, str, str]] = field(default_factory=list)
    task_settings: list[tuple[str, str, str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(v for k, v in vars(self).items() if k != "dag_id")


@dataclass
class Summary:
    added: list[str]
    removed: list[str]
    changed: list[DagChange]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _literal(tree: ast.Module, name: str) -> Any:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return ()


def parse_dag_file(text: str) -> DagFacts | None:
    """What a generated DAG file declares; None for text that is not one."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    call = next(
        (
            item.context_expr
            for node in tree.body
            if isinstance(node, ast.With)
            for item in node.items
            if isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Name)
            and item.context_expr.func.id == "DAG"
        ),
        None,
    )
    if call is None:
        return None
    settings = {}
    for kw in call.keywords:
        if kw.arg == "default_args" and isinstance(kw.value, ast.Dict):
            for key, value in zip(kw.value.keys, kw.value.values, strict=True):
                if isinstance(key, ast.Constant):
                    settings[str(key.value)] = ast.get_source_segment(text, value) or ""
        elif kw.arg:
            settings[kw.arg] = ast.get_source_segment(text, kw.value) or ""
    operators = [
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow.providers")
        for alias in node.names
    ]
    # (task_id, Kedro name, TaskGroup, nodes[, options]); older files: (task_id, nodes[, options])
    rows = [
        (str(row[0]), tuple(row[1]), dict(row[2]) if len(row) > 2 else {})
        if isinstance(row[1], (tuple, list))
        else (str(row[0]), tuple(row[3]), dict(row[4]) if len(row) > 4 else {})
        for row in _literal(tree, "TASKS")
    ]
    edges = frozenset((str(a), str(b)) for a, b in _literal(tree, "EDGES"))
    dag_id = ast.literal_eval(settings.get("dag_id", "''"))
    return DagFacts(
        str(dag_id),
        ", ".join(sorted(operators)),
        {task_id: nodes for task_id, nodes, _ in rows},
        edges,
        settings,
        {task_id: options for task_id, _, options in rows},
        _runtime(tree, text),
    )


def compare_dag(old: DagFacts, new: DagFacts) -> DagChange:
    change = DagChange(new.dag_id)
    removed = sorted(set(old.tasks) - set(new.tasks))
    added = sorted(set(new.tasks) - set(old.tasks))
    by_nodes = {old.tasks[t]: t for t in removed}
    for task in list(added):
        before = by_nodes.pop(new.tasks[task], None)
        if before is not None:
            change.tasks_renamed.append((before, task))
            added.remove(task)
            removed.remove(before)
    change.tasks_added, change.tasks_removed = added, removed
    change.tasks_regrouped = sorted(
        t for t in set(old.tasks) & set(new.tasks) if old.tasks[t] != new.tasks[t]
    )
    for task in sorted(set(old.tasks) & set(new.tasks)):
        was, now = old.options.get(task, {}), new.options.get(task, {})
        for key in sorted(set(was) | set(now)):
            if was.get(key) != now.get(key):
                shown = (
                    repr(was[key]) if key in was else "-",
                    repr(now[key]) if key in now else "-",
                )
                change.task_settings.append((task, key, *shown))
    change.edges_added = sorted(new.edges - old.edges)
    change.edges_removed = sorted(old.edges - new.edges)
    if old.operator != new.operator:
        change.settings.append(("executor", old.operator, new.operator))
    for key in sorted(set(old.runtime) | set(new.runtime)):
        if old.runtime.get(key) != new.runtime.get(key):
            change.settings.append((key, old.runtime.get(key, "-"), new.runtime.get(key, "-")))
    for key in sorted((set(old.settings) | set(new.settings)) - {"dag_id"}):
        if old.settings.get(key) != new.settings.get(key):
            change.settings.append((key, old.settings.get(key, "-"), new.settings.get(key, "-")))
    return change


def summarize(old_files: dict[str, str], new_files: dict[str, str]) -> Summary:
    """Compare two sets of generated files ({file name: text})."""
    old = {f.dag_id: f for f in map(parse_dag_file, old_files.values()) if f}
    new = {f.dag_id: f for f in map(parse_dag_file, new_files.values()) if f}
    changed = [compare_dag(old[d], new[d]) for d in sorted(set(old) & set(new))]
    return Summary(
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
        changed=[c for c in changed if c],
    )


def _dag_lines(change: DagChange, bullet: str, code: str) -> list[str]:
    def q(text: str) -> str:
        return f"{code}{text}{code}"

    lines = []
    if change.tasks_added:
        lines.append(f"{bullet}tasks added: {', '.join(map(q, change.tasks_added))}")
    if change.tasks_removed:
        lines.append(f"{bullet}tasks removed: {', '.join(map(q, change.tasks_removed))}")
    lines += [f"{bullet}task renamed: {q(a)} -> {q(b)}" for a, b in change.tasks_renamed]
    lines += [f"{bullet}nodes regrouped in task {q(t)}" for t in change.tasks_regrouped]
    lines += [f"{bullet}edge added: {q(a)} >> {q(b)}" for a, b in change.edges_added]
    lines += [f"{bullet}edge removed: {q(a)} >> {q(b)}" for a, b in change.edges_removed]
    lines += [f"{bullet}{key}: {q(a)} -> {q(b)}" for key, a, b in change.settings]
    lines += [
        f"{bullet}task {q(task)} {key}: {q(a)} -> {q(b)}"
        for task, key, a, b in change.task_settings
    ]
    return lines


def summary_text(summary: Summary, against: str) -> str:
    if not summary:
        return f"no DAG changes against {against}"
    lines = [f"DAG changes against {against}:"]
    lines += [f"  + {d} (new DAG)" for d in summary.added]
    lines += [f"  - {d} (removed DAG)" for d in summary.removed]
    for change in summary.changed:
        lines.append(f"  ~ {change.dag_id}")
        lines += _dag_lines(change, "      ", "")
    return "\n".join(map(escape, lines))


def summary_markdown(summary: Summary, against: str) -> str:
    lines = [f"### kedro-gitops: DAG changes against `{against}`", ""]
    if not summary:
        return "\n".join([*lines, "No DAG changes."])
    lines += [f"- :new: `{d}` (new DAG)" for d in summary.added]
    lines += [f"- :wastebasket: `{d}` (removed DAG)" for d in summary.removed]
    for change in summary.changed:
        lines.append(f"- :pencil2: `{change.dag_id}`")
        lines += _dag_lines(change, "  - ", "`")
    return "\n".join(map(escape, lines))


def summary_json(summary: Summary) -> str:
    data = {
        "added": summary.added,
        "removed": summary.removed,
        "changed": [vars(c) for c in summary.changed],
    }
    return json.dumps(data, indent=2, sort_keys=True)
