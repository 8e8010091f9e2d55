"""Per-task Airflow settings (task rules) and resources (executor presets by tag) (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .diagnostics import Diagnostic, Location
from .grouping import Task
from .manifest import TaskRule
from .schedule import duration_seconds
from .snapshot import Node

DURATIONS = ("retry_delay", "execution_timeout")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_SCALE = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}  # fmt: skip


@dataclass(frozen=True)
class TaskOptions:
    """What a task sets beyond the DAG defaults, and which rule set each setting."""

    settings: tuple[tuple[str, Any], ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    resources: str | None = None


def quantity(value: str | float) -> float:
    """A Kubernetes quantity as a number: `500m` is 0.5, `2Gi` is 2147483648."""
    if isinstance(value, int | float):  # `str()` may write it in exponent form: `1e-05`
        return float(value)
    match = _QUANTITY.match(str(value))
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    number, suffix = match.groups()
    return float(number) * (_SCALE[suffix] if suffix else 1)


def _matches(rule: TaskRule, nodes: Sequence[Node]) -> bool:
    if not rule.tags and not rule.nodes:
        return True
    return any(
        set(rule.tags) & set(n.tags) or any(fnmatchcase(n.name, p) for p in rule.nodes)
        for n in nodes
    )


def task_settings(
    nodes: Sequence[Node], rules: Sequence[TaskRule]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings for a task holding `nodes`: for each key, the first matching rule that sets it."""
    settings: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for rule in rules:
        if not _matches(rule, nodes):
            continue
        for key, value in rule.settings:
            if key not in settings:
                settings[key] = duration_seconds(value) if key in DURATIONS else value
                sources[key] = rule.label
    return settings, sources


def _node_presets(node: Node, spec: Mapping[str, Any]) -> list[str]:
    named = [tag for tag in spec.get("by_tag", {}) if tag in node.tags]
    return named or (["default"] if "default" in spec else [])


def _largest(presets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for preset in presets:
        for key, value in preset.items():
            if key == "limits":
                merged["limits"] = _largest([merged.get("limits", {}), value])
            elif key not in merged or quantity(value) > quantity(merged[key]):
                merged[key] = value
    return merged


def task_resources(
    tasks: Sequence[Task],
    nodes: Mapping[str, Node],
    spec: Mapping[str, Any] | None,
    where: Location,
) -> tuple[dict[str, str], dict[str, dict[str, Any]], list[Diagnostic]]:
    """Preset name per task id, the presets by name, and conflicts (unless `merge: largest`)."""
    if not spec:
        return {}, {}, []
    table = {"default": spec.get("default", {}), **spec.get("by_tag", {})}
    chosen: dict[str, str] = {}
    presets: dict[str, dict[str, Any]] = {}
    problems = []
    for task in tasks:
        asked = {n: _node_presets(nodes[n], spec) for n in task.nodes}
        names = sorted({p for wanted in asked.values() for p in wanted})
        if not names:
            continue
        if len(names) > 1 and spec.get("merge", "error") != "largest":
            detail = ", ".join(f"`{n}` ({', '.join(p) or 'none'})" for n, p in asked.items())
            problems.append(
                Diagnostic(
                    where,
                    "error",
                    "resource-conflict",
                    f"task `{task.task_id}` holds nodes asking for different resources: {detail}",
                    hint="set `resources.merge: largest` on the executor, or group the nodes apart",
                )
            )
            continue
        name = "+".join(names)
        chosen[task.task_id] = name
        presets[name] = _largest([table[n] for n in names])
    return chosen, dict(sorted(presets.items())), problems


def kubernetes_resources(preset: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A preset as V1ResourceRequirements arguments."""
    requests = {k: str(preset[k]) for k in ("cpu", "memory") if k in preset}
    limits = {k: str(v) for k, v in preset.get("limits", {}).items()}
    if "gpu" in preset:
        limits["nvidia.com/gpu"] = str(preset["gpu"])
    return {"requests": requests, "limits": limits}


def docker_resources(preset: Mapping[str, Any]) -> dict[str, Any]:
    """A preset as DockerOperator arguments: `cpus` in cores, `mem_limit` in bytes."""
    limits = preset.get("limits", {})
    out: dict[str, Any] = {}
    cpu = limits.get("cpu", preset.get("cpu"))
    memory = limits.get("memory", preset.get("memory"))
    if cpu is not None:
        out["cpus"] = quantity(cpu)
    if memory is not None:
        out["mem_limit"] = int(quantity(memory))
    return out
