"""Group Kedro nodes into Airflow tasks by the manifest's rules, and check the task graph (pure)."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .diagnostics import CompileError, Diagnostic, Location, did_you_mean, has_errors
from .graph import UnionFind, find_cycle, topo_order
from .manifest import Rule
from .snapshot import Node, base_name, is_parameter

MAX_ID = 250
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
Edge = tuple[str, str]
Persisted = Callable[[str], bool]


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def slug(name: str, limit: int = 100) -> str:
    """A short Airflow-safe id for any name; a name cut to `limit` keeps a hash of the original."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _UNSAFE.sub("_", ascii_name).strip("_.") or "node"
    if len(text) > limit:
        text = f"{text[: limit - 9]}_{short_hash(name)}"
    return text


@dataclass(frozen=True)
class Task:
    """An Airflow task: Kedro nodes in execution order, and the rule that placed them."""

    task_id: str
    nodes: tuple[str, ...]
    rule: str
    name: str = ""  # its Kedro name, verbatim: the group's name, or the one node's name


@dataclass(frozen=True)
class TaskGraph:
    tasks: tuple[Task, ...]
    edges: tuple[Edge, ...]
    datasets: dict[Edge, tuple[str, ...]]
    used_rules: frozenset[int]


@dataclass
class _Group:
    """Nodes one rule placed together (`rule` None: a node no rule took), before it has an id."""

    rule: Rule | None
    key: str  # what the rule groups by: the group's name, tag or namespace; a lone node's name
    members: list[str]
    fused: tuple[Rule, ...] = ()  # the rules whose groups a memory rule fused into this one
    via: frozenset[str] = frozenset()  # the in-memory datasets that fused them
    name: str = ""

    @property
    def label(self) -> str:
        """The rule behind the task, as the plan shows it."""
        if self.rule is None:
            return "node"
        if self.fused:
            return f"{self.rule.label} (fused {', '.join(r.label for r in self.fused)})"
        return self.rule.label


class NodeGraph:
    """Node-level dependencies through datasets (transcoded names count as one dataset)."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = {n.name: n for n in nodes}
        producer = {}
        for n in sorted(nodes, key=lambda n: n.name, reverse=True):
            for out in n.outputs:
                producer[base_name(out)] = n.name
        self.edges: dict[Edge, set[str]] = defaultdict(set)
        for n in nodes:
            for dataset in n.inputs:
                src = producer.get(base_name(dataset))
                if src is not None and src != n.name and not is_parameter(dataset):
                    self.edges[(src, n.name)].add(base_name(dataset))
        succ: dict[str, list[str]] = defaultdict(list)
        self.preds: dict[str, set[str]] = defaultdict(set)
        for src, dst in self.edges:
            succ[src].append(dst)
            self.preds[dst].add(src)
        self.order = topo_order(sorted(self.nodes), succ)
        self.rank = {name: i for i, name in enumerate(self.order)}

    def first(self, members: Iterable[str]) -> str:
        """A group's first node: of the members that read nothing another member writes, the
        one whose name sorts first. A node joining downstream of it, or a change elsewhere in
        the pipeline, never changes it."""
        inside = set(members)
        return min(n for n in inside if not self.preds.get(n, set()) & inside)


Found = tuple[dict[str, list[str]], list[Diagnostic]]  # groups by key, and problems


def unmatched(
    label: str,
    where: Location,
    patterns: Iterable[str],
    tags: Iterable[str],
    nodes: Iterable[Node],
    *,
    scope: str = "in the pipeline",
) -> list[Diagnostic]:
    """A rule's node globs and tags that no node matches, each an error with a did-you-mean."""
    nodes = list(nodes)
    names = {n.name for n in nodes}
    all_tags = {t for n in nodes for t in n.tags}
    found = [
        Diagnostic(
            where,
            "error",
            "unknown-node",
            f"{label}: no node {scope} matches `{pattern}`",
            hint=did_you_mean(pattern, names),
        )
        for pattern in patterns
        if not any(fnmatchcase(n, pattern) for n in names)
    ]
    found += [
        Diagnostic(
            where,
            "error",
            "unknown-tag",
            f"{label}: no node {scope} has tag `{tag}`",
            hint=did_you_mean(tag, all_tags),
        )
        for tag in sorted(set(tags) - all_tags)
    ]
    return found


def _explicit(rule: Rule, free: list[str], graph: NodeGraph, persisted: Persisted) -> Found:
    nodes = graph.nodes
    patterns, tags = rule.option("nodes", []), set(rule.option("tags", []))
    members = [
        name
        for name in free
        if tags & set(nodes[name].tags) or any(fnmatchcase(name, p) for p in patterns)
    ]
    problems = unmatched(rule.label, rule.location, patterns, tags, nodes.values())
    return ({rule.option("name"): members} if members else {}), problems


def _by_tag(rule: Rule, free: list[str], graph: NodeGraph, persisted: Persisted) -> Found:
    prefix = rule.option("prefix")
    found: dict[str, list[str]] = defaultdict(list)
    problems = []
    for name in free:
        tags = graph.nodes[name].tags
        groups = sorted({t[len(prefix) :] for t in tags if t.startswith(prefix)} - {""})
        if len(groups) > 1:
            problems.append(
                Diagnostic(
                    rule.location,
                    "error",
                    "ambiguous-group",
                    f"{rule.label}: node `{name}` has several `{prefix}` tags: {', '.join(groups)}",
                    hint="a node belongs to one task; keep one of these tags",
                )
            )
        elif groups:
            found[groups[0]].append(name)
    return found, problems


def _by_namespace(rule: Rule, free: list[str], graph: NodeGraph, persisted: Persisted) -> Found:
    depth = rule.option("depth", 1)
    found: dict[str, list[str]] = defaultdict(list)
    for name in free:
        namespace = graph.nodes[name].namespace
        if namespace:
            found[".".join(namespace.split(".")[:depth])].append(name)
    return found, []


def _by_memory(rule: Rule, free: list[str], graph: NodeGraph, persisted: Persisted) -> Found:
    """Connected components of the free nodes over datasets the catalog does not persist."""
    members = set(free)
    sets: UnionFind[str] = UnionFind()
    for (src, dst), datasets in graph.edges.items():
        if src in members and dst in members and not all(map(persisted, datasets)):
            sets.union(src, dst)
    components: dict[str, list[str]] = defaultdict(list)
    for name in free:
        if name in sets.parent:
            components[sets.find(name)].append(name)
    return components, []


_RULES: dict[str, Callable[[Rule, list[str], NodeGraph, Persisted], Found]] = {
    "group": _explicit,
    "tag_prefix": _by_tag,
    "namespace": _by_namespace,
    "memory": _by_memory,
}


def _collision(task_id: str, same: list[_Group], where: Location) -> Diagnostic:
    names = ", ".join(f"`{g.name}` ({g.label})" for g in same)
    ruled = [g.rule for g in same if g.rule is not None]
    return Diagnostic(
        ruled[-1].location if ruled else where,
        "error",
        "task-id-collision",
        f"task id `{task_id}` is given to several tasks: {names}",
        hint="rename the group or the node, or let another rule take these nodes",
    )


def _assign_ids(groups: list[_Group], where: Location) -> tuple[list[str], list[Diagnostic]]:
    """A task id per group (same order). Per-node tasks whose names slug alike keep apart by a
    hash of the full name; any other collision is an error."""
    by_slug: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        by_slug[slug(group.name)].append(i)
    ids = [""] * len(groups)
    problems = []
    for task_id, members in sorted(by_slug.items()):
        same = [groups[i] for i in members]
        if len(same) > 1 and any(g.rule is not None for g in same):
            problems.append(_collision(task_id, same, where))
            continue
        for i in members:
            ids[i] = task_id if len(same) == 1 else slug(f"{task_id}_{short_hash(groups[i].name)}")
    final: dict[str, list[int]] = defaultdict(list)
    for i, task_id in enumerate(ids):
        if task_id:
            final[task_id].append(i)
    problems += [
        _collision(task_id, [groups[i] for i in members], where)
        for task_id, members in sorted(final.items())
        if len(members) > 1  # a hashed id that equals another node's own id
    ]
    return ids, problems


def _memory_crossings(
    graph: NodeGraph, task_of: dict[str, str], persisted: Persisted, where: Location, catalog: str
) -> list[Diagnostic]:
    problems = []
    for (src, dst), datasets in graph.edges.items():  # the caller sorts the diagnostics
        if task_of[src] == task_of[dst]:
            continue
        for dataset in sorted(d for d in datasets if not persisted(d)):
            problems.append(
                Diagnostic(
                    where,
                    "error",
                    "memory-crossing",
                    f"in-memory dataset `{dataset}` crosses tasks: produced by `{src}` in task "
                    f"`{task_of[src]}`, consumed by `{dst}` in task `{task_of[dst]}`",
                    hint=f"add a `{{by: memory}}` rule to `groups`, or persist `{dataset}` in "
                    f"{catalog}",
                )
            )
    return problems


def _fuse(
    groups: list[_Group], graph: NodeGraph, persisted: Persisted, memory: Rule
) -> list[_Group]:
    """The groups, with those an in-memory dataset joins fused into one group of `memory`."""
    group_of = {n: i for i, g in enumerate(groups) for n in g.members}
    sets: UnionFind[int] = UnionFind()
    via: dict[int, set[str]] = defaultdict(set)  # the in-memory datasets each group reads
    for (src, dst), datasets in graph.edges.items():
        a, b = group_of[src], group_of[dst]
        in_memory = {d for d in datasets if not persisted(d)}
        if a != b and in_memory:
            sets.union(a, b)
            via[b] |= in_memory
    fused: dict[int, list[int]] = defaultdict(list)
    for i in range(len(groups)):
        fused[sets.find(i)].append(i)
    result = []
    for parts in sorted(fused.values()):
        if len(parts) == 1:
            result.append(groups[parts[0]])
            continue
        rules = {
            g.rule.index: g.rule
            for g in (groups[i] for i in parts)
            if g.rule is not None and g.rule.index != memory.index
        }
        result.append(
            _Group(
                memory,
                "",
                [n for i in parts for n in groups[i].members],
                tuple(rules[i] for i in sorted(rules)),
                frozenset(d for i in parts for d in via[i]),
            )
        )
    return result


_TEMPLATES = {  # a rule's placeholder for the value it groups by, and its default task name
    "tag_prefix": ("tag", "{tag}"),
    "namespace": ("namespace", "{namespace}"),
    "memory": ("", "{first}_group"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _name(group: _Group, graph: NodeGraph) -> str:
    """The group's name before it is made an id: a lone node's name, an explicit group's
    `name`, or the rule's `name` template filled in (`{first}`: the group's first node)."""
    if group.rule is None or group.rule.by == "group":
        return group.key
    placeholder, default = _TEMPLATES[group.rule.by]
    values = {placeholder: group.key, "first": graph.first(group.members)}
    template = str(group.rule.option("name", default))
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


def _cycle_hint(cycle: list[_Group], rules: int, catalog: str) -> str:
    """What could break a cycle through these groups (the last repeats the first)."""
    ways = [
        f"persist {_listed(g.via)} in {catalog} so that `{g.name}` is not fused"
        for g in cycle[:-1]
        if g.fused
    ]
    ways.append("split one of these groups")
    if rules > 1:
        ways.append("reorder `groups` so a different rule takes the nodes")
    return ", ".join(ways[:-1]) + f", or {ways[-1]}" if len(ways) > 1 else ways[0]


def _listed(names: Iterable[str], most: int = 5) -> str:
    names = sorted(names)
    shown = ", ".join(f"`{n}`" for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def group_nodes(
    nodes: Sequence[Node],
    persisted: Persisted,
    rules: Iterable[Rule],
    where: Location,
    catalog: str = "conf/base/catalog.yml",
) -> tuple[TaskGraph, list[Diagnostic]]:
    """Tasks and task edges for `nodes`; raises CompileError with every problem found.

    Rules place nodes in order, the first that matches a node taking it; then, when `rules`
    hold a `memory` rule, the groups an in-memory dataset joins are fused into one task.
    `persisted` tells whether the Kedro environment stores a dataset outside memory, `catalog`
    names its catalog file(s) for hints; `where` locates diagnostics that belong to the DAG
    rather than to one rule.
    """
    rules = tuple(rules)
    graph = NodeGraph(nodes)
    free = list(graph.order)
    groups: list[_Group] = []
    problems: list[Diagnostic] = []
    for rule in rules:
        keyed, found = _RULES[rule.by](rule, free, graph, persisted)
        made = [_Group(rule, key, members) for key, members in keyed.items()]
        problems += found
        taken = {n for g in made for n in g.members}
        free = [n for n in free if n not in taken]
        groups += made
    groups += [_Group(None, name, [name]) for name in free]
    memory = next((r for r in rules if r.by == "memory"), None)
    if memory is not None:
        groups = _fuse(groups, graph, persisted, memory)
    for group in groups:
        group.name = _name(group, graph)
    groups.sort(key=lambda g: (g.rule.index, g.name) if g.rule else (len(rules), ""))
    ids, found = _assign_ids(groups, where)
    problems += found
    if has_errors(problems):
        raise CompileError(problems)

    task_of = {n: task_id for g, task_id in zip(groups, ids, strict=True) for n in g.members}
    if memory is None:  # with one, no in-memory dataset is left crossing tasks
        problems += _memory_crossings(graph, task_of, persisted, where, catalog)
    datasets: dict[Edge, set[str]] = defaultdict(set)
    for (src, dst), names in graph.edges.items():
        if task_of[src] != task_of[dst]:
            datasets[(task_of[src], task_of[dst])] |= names
    group_of = dict(zip(ids, groups, strict=True))
    tasks = sorted(
        (
            Task(
                task_id,
                tuple(sorted(g.members, key=graph.rank.__getitem__)),
                g.label,
                g.name or g.key,
            )
            for task_id, g in group_of.items()
        ),
        key=lambda t: t.task_id,
    )
    succ: dict[str, list[str]] = defaultdict(list)
    for src, dst in datasets:
        succ[src].append(dst)
    cycle = find_cycle([t.task_id for t in tasks], succ)
    if cycle:
        steps = " ".join(
            f"{a} ({group_of[a].label}) --[{', '.join(sorted(datasets[(a, b)]))}]-->"
            for a, b in itertools.pairwise(cycle)
        )
        problems.append(
            Diagnostic(
                where,
                "error",
                "cycle",
                f"grouping makes the task graph cyclic: {steps} {cycle[-1]}",
                hint=_cycle_hint([group_of[t] for t in cycle], len(rules), catalog),
            )
        )
    if has_errors(problems):
        raise CompileError(problems)
    edges = tuple(sorted(datasets))
    used = {g.rule.index for g in groups if g.rule is not None}
    used |= {r.index for g in groups for r in g.fused}
    return (
        TaskGraph(
            tuple(tasks), edges, {e: tuple(sorted(datasets[e])) for e in edges}, frozenset(used)
        ),
        problems,
    )
