"""Property-based tests of `kedro_gitops.grouping.group_nodes` on random node DAGs and rules.

Every example is a random acyclic Kedro pipeline (node i only reads outputs of nodes j < i), with
transcoded datasets (`ds@pandas` / `ds@spark`), parameters, namespaces, tags and awkward node
names, a random set of persisted datasets and a random list of grouping rules (memory mixed with
the others, some with `name` templates). The expected facts (node edges, acyclicity, which nodes
share a task) are recomputed here without the library's helpers.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_gitops.diagnostics import CompileError, Location
from kedro_gitops.grouping import TaskGraph, group_nodes, slug
from kedro_gitops.manifest import Rule
from kedro_gitops.snapshot import Node

WHERE = Location("m.yaml", 1, 1)
PROPERTIES = settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TASK_ID = re.compile(r"[A-Za-z0-9_.-]+")
NAMESPACES = (None, "a", "a.b", "b")
TAGS = ("t1", "t2", "grp.x", "grp.y")
# Names whose slugs vanish (`node`) or are odd, and names of the groups the rules make.
SPECIAL_NAMES = ("node", "...", " ", "[ ]", "_", "'", "n", "a b", "a\tb", "é")
GROUP_NAMES = ("a", "b", "a.b", "x", "y", "g")
STEMS = ("ds", "model.in_", "Raw-", "x")
SEPARATORS = (" ", ",", "_", ".", "'", "]", "__")
TRANSCODINGS = ("", "@pandas", "@spark")
EXTRA_INPUTS = ("params:x", "params:y.z", "parameters", "raw")
RULES: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("memory", ()),
    ("namespace", ()),
    ("namespace", (("depth", 1),)),
    ("namespace", (("depth", 2),)),
    ("tag_prefix", (("prefix", "grp."),)),
    ("group", (("name", "g"), ("tags", ["t1"]))),
    ("memory", (("name", "{first}"),)),
    ("namespace", (("name", "ns_{namespace}"),)),
    ("tag_prefix", (("name", "{tag}_{first}"), ("prefix", "grp."))),
)
ERROR_CODES = {"cycle", "memory-crossing", "task-id-collision", "ambiguous-group"}

Edge = tuple[str, str]


@dataclass(frozen=True)
class Example:
    nodes: tuple[Node, ...]
    persisted_names: frozenset[str]
    rules: tuple[Rule, ...]

    def persisted(self, dataset: str) -> bool:
        return base(dataset) in self.persisted_names


def base(dataset: str) -> str:
    return dataset.split("@", 1)[0]


def is_param(dataset: str) -> bool:
    return dataset == "parameters" or dataset.startswith("params:")


# One node's random choices; strategies are built once, as building them per draw is slow.
NODE_CHOICES = st.fixed_dictionaries(
    {
        "name": st.integers(0, 6),  # 0 is the plain `node {i}`, the simplest shrink target
        "k": st.integers(0, 3),
        "sep": st.sampled_from(SEPARATORS),
        "special": st.sampled_from(SPECIAL_NAMES),
        "group": st.sampled_from(GROUP_NAMES),
        "earlier": st.integers(0, 1023),
        "same": st.integers(0, 3),  # in a blocky pipeline, non-zero copies namespace and tags
        "namespace": st.sampled_from(NAMESPACES),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        "inputs": st.lists(st.integers(0, 1023), max_size=3),  # earlier outputs, latest first
        "extra": st.lists(st.sampled_from(EXTRA_INPUTS), max_size=2, unique=True),
        "outputs": st.lists(
            st.tuples(st.sampled_from(STEMS), st.sampled_from(TRANSCODINGS)), max_size=2
        ),
    }
)


def node_name(i: int, c: dict[str, Any], earlier: list[str], clash: bool) -> str:
    """An awkward, unique node name: quotes, brackets with commas, dots, spaces, 240+ chars;
    with `clash`, also names that rule-made groups take (`a`, `g`, `<head>_group`)."""
    kind, k, sep = c["name"], c["k"], c["sep"]
    if not clash and kind >= 5:
        kind = 2
    candidates = [
        f"node {i}",
        f"fn([in_{k}, 'q'], \"{i}\") -> [out_{i}]",
        f"s{sep}{k}",
        f"{'L' * 240}{sep}{k}",
        c["special"],
        c["group"],
        f"{earlier[c['earlier'] % len(earlier)]}_group" if earlier else f"node {i}",
    ]
    name = candidates[kind]
    return f"node #{i}" if name in earlier else name


@st.composite
def examples(draw: st.DrawFn, with_rules: bool = True, persist: str | None = None) -> Example:
    nodes: list[Node] = []
    names: list[str] = []
    refs: list[str] = []  # every way of naming a dataset some earlier node produces
    # Blocky pipelines keep runs of nodes in one namespace / tag set, as modular pipelines do,
    # so that rule-made groups are often intervals of a topological order and stay acyclic.
    blocky = draw(st.booleans())
    ambiguous = draw(st.booleans())  # else no node carries both `grp.x` and `grp.y`
    clash = draw(st.booleans())  # node names that equal group names
    reach = draw(st.sampled_from([6, 1024]))  # local pipelines read only recent outputs
    for i in range(draw(st.integers(1, 40))):
        c = draw(NODE_CHOICES)
        name = node_name(i, c, names, clash)
        inputs = [refs[-1 - j % min(reach, len(refs))] for j in c["inputs"]] if refs else []
        outputs = []
        for m, (stem, transcoding) in enumerate(c["outputs"]):
            dataset = f"{stem}{i}_{m}"
            outputs.append(dataset + transcoding)
            refs += [dataset + t for t in TRANSCODINGS]
        namespace, tags = c["namespace"], tuple(c["tags"])
        if blocky and nodes and c["same"]:
            namespace, tags = nodes[-1].namespace, nodes[-1].tags
        if not ambiguous and {"grp.x", "grp.y"} <= set(tags):
            tags = tuple(t for t in tags if t != "grp.y")
        nodes.append(
            Node(
                name, namespace, tags, tuple(dict.fromkeys([*inputs, *c["extra"]])), tuple(outputs)
            )
        )
        names.append(name)
    bases = sorted({base(o) for n in nodes for o in n.outputs})
    mode = persist or draw(st.sampled_from(["all", "all", "none", "some"]))
    if mode == "all":
        persisted = frozenset(bases)
    elif mode == "none" or not bases:
        persisted = frozenset()
    else:
        persisted = frozenset(draw(st.sets(st.sampled_from(bases))))
    specs = draw(st.lists(st.sampled_from(RULES), max_size=4)) if with_rules else []
    memory_at = draw(st.sampled_from(["as drawn", "first", "last"]))
    if specs and memory_at == "first" and specs[0] != RULES[0]:
        specs = [RULES[0], *specs[:3]]  # a `{by: memory}` rule first, a common set-up
    elif specs and memory_at == "last" and specs[-1] != RULES[0]:
        specs = [*specs[:3], RULES[0]]  # other rules, then memory fusing what they made
    rules = tuple(Rule(i, by, options, WHERE) for i, (by, options) in enumerate(specs))
    return Example(tuple(nodes), persisted, rules)


def node_edges(nodes: Iterable[Node]) -> dict[Edge, set[str]]:
    """(producer, consumer) -> base names of the datasets between them, parameters excluded."""
    nodes = list(nodes)
    producer = {base(out): n.name for n in nodes for out in n.outputs}
    edges: dict[Edge, set[str]] = defaultdict(set)
    for n in nodes:
        for dataset in n.inputs:
            src = producer.get(base(dataset))
            if not is_param(dataset) and src is not None and src != n.name:
                edges[(src, n.name)].add(base(dataset))
    return edges


def acyclic(vertices: Iterable[str], edges: Iterable[Edge]) -> bool:
    """Kahn's algorithm: every vertex gets removed iff there is no cycle."""
    vertices = set(vertices)
    indegree = Counter(dst for _, dst in edges)
    succ: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        succ[src].append(dst)
    ready = deque(v for v in vertices if indegree[v] == 0)
    removed = 0
    while ready:
        vertex = ready.popleft()
        removed += 1
        for dst in succ[vertex]:
            indegree[dst] -= 1
            if indegree[dst] == 0:
                ready.append(dst)
    return removed == len(vertices)


def find(parent: dict[str, str], item: str) -> str:
    while parent.setdefault(item, item) != item:
        item = parent[item]
    return item


def placed(rule: Rule, node: Node) -> str | None:
    """The group a non-memory rule puts `node` in, or None."""
    if rule.by == "namespace" and node.namespace:
        return ".".join(node.namespace.split(".")[: dict(rule.options).get("depth", 1)])
    if rule.by == "tag_prefix":
        return next((t for t in node.tags if t.startswith("grp.") and t != "grp."), None)
    if rule.by == "group" and "t1" in node.tags:
        return "g"
    return None


def expected_tasks(example: Example) -> set[frozenset[str]]:
    """Which nodes share a task: each node placed by the first rule that takes it (or alone);
    then, with a memory rule in the list, the groups an in-memory dataset joins fused."""
    nodes = {n.name: n for n in example.nodes}
    in_memory = [
        edge
        for edge, datasets in node_edges(example.nodes).items()
        if not all(map(example.persisted, datasets))
    ]
    group: dict[str, str] = {}  # node -> a key naming its group
    for rule in example.rules:
        free = [name for name in nodes if name not in group]
        if rule.by == "memory":
            parent: dict[str, str] = {}
            for src, dst in in_memory:
                if src in free and dst in free:
                    parent[find(parent, src)] = find(parent, dst)
            group |= {name: f"{rule.index} {find(parent, name)}" for name in parent}
        for name in free:
            key = placed(rule, nodes[name])
            if key is not None:
                group[name] = f"{rule.index} {key}"
    for name in nodes:
        group.setdefault(name, f"node {name}")
    if any(r.by == "memory" for r in example.rules):
        fused: dict[str, str] = {}
        for src, dst in in_memory:
            fused[find(fused, group[src])] = find(fused, group[dst])
        group = {name: find(fused, key) for name, key in group.items()}
    tasks: dict[str, set[str]] = defaultdict(set)
    for name, key in group.items():
        tasks[key].add(name)
    return {frozenset(members) for members in tasks.values()}


def expected_acyclic(example: Example) -> bool:
    """Whether the tasks of `expected_tasks` depend on each other without a cycle."""
    task_of = {n: str(i) for i, task in enumerate(expected_tasks(example)) for n in task}
    edges = {(task_of[s], task_of[d]) for s, d in node_edges(example.nodes)}
    return acyclic(set(task_of.values()), {(s, d) for s, d in edges if s != d})


def run(example: Example, nodes: Iterable[Node] | None = None) -> TaskGraph:
    graph, diagnostics = group_nodes(
        list(example.nodes if nodes is None else nodes), example.persisted, example.rules, WHERE
    )
    assert all(d.severity != "error" for d in diagnostics)
    return graph


def check_graph(example: Example, graph: TaskGraph) -> None:
    names = [n.name for n in example.nodes]
    ids = [t.task_id for t in graph.tasks]
    # (4) unique, Airflow-safe, bounded task ids
    assert len(set(ids)) == len(ids), Counter(ids).most_common(3)
    for task_id in ids:
        assert TASK_ID.fullmatch(task_id), task_id
        assert len(task_id) <= 250, task_id
    # (1) every node in exactly one task, and no empty task
    assert all(t.nodes for t in graph.tasks)
    assert Counter(n for t in graph.tasks for n in t.nodes) == Counter(names)
    labels = {"node"} | {r.label for r in example.rules}
    memory = next((r for r in example.rules if r.by == "memory"), None)
    for task in graph.tasks:
        fused = memory is not None and task.rule.startswith(f"{memory.label} (fused groups[")
        assert task.rule in labels or fused, task.rule
        assert task.rule != "node" or len(task.nodes) == 1
    # (1b) the rules' groups, first match wins, fused by a memory rule along in-memory datasets
    assert {frozenset(t.nodes) for t in graph.tasks} == expected_tasks(example)
    assert graph.used_rules <= {r.index for r in example.rules}

    task_of = {n: t.task_id for t in graph.tasks for n in t.nodes}
    edges = node_edges(example.nodes)
    crossing: dict[Edge, set[str]] = defaultdict(set)
    for (src, dst), datasets in edges.items():
        if task_of[src] != task_of[dst]:
            crossing[(task_of[src], task_of[dst])] |= datasets
    # (2) crossing node edges are exactly the task edges, with the datasets behind them
    assert set(graph.edges) == set(crossing)
    assert len(graph.edges) == len(set(graph.edges))
    assert {e: set(d) for e, d in graph.datasets.items()} == crossing
    # (3) the task graph is acyclic
    assert acyclic(ids, graph.edges)
    # (5) nodes inside a task run after the nodes they depend on
    position = {n: i for t in graph.tasks for i, n in enumerate(t.nodes)}
    for src, dst in edges:
        if task_of[src] == task_of[dst]:
            assert position[src] < position[dst], (src, dst)
    # (6) no in-memory dataset crosses a task boundary
    for (src, dst), datasets in edges.items():
        if task_of[src] != task_of[dst]:
            assert all(map(example.persisted, datasets)), (src, dst, datasets)


def memory_edges(example: Example) -> bool:
    return any(not all(map(example.persisted, d)) for d in node_edges(example.nodes).values())


def check_error(example: Example, error: CompileError) -> None:
    codes = {d.code for d in error.diagnostics if d.severity == "error"}
    assert codes
    allowed = set(ERROR_CODES)
    has_t1 = any("t1" in n.tags for n in example.nodes)
    if any(r.by == "group" for r in example.rules) and not has_t1:
        allowed.add("unknown-tag")  # a group rule whose tag no node carries is an error too
    assert codes <= allowed, codes
    if not example.rules:
        assert "cycle" not in codes
    if "ambiguous-group" in codes:
        assert any(r.by == "tag_prefix" for r in example.rules)
        assert any({"grp.x", "grp.y"} <= set(n.tags) for n in example.nodes)
    if "memory-crossing" in codes:
        assert memory_edges(example)
        assert all(r.by != "memory" for r in example.rules)  # a memory rule fuses them
    if "task-id-collision" in codes:
        assert example.rules
    if codes == {"cycle"}:
        assert not expected_acyclic(example)


@PROPERTIES
@given(examples())
def test_group_nodes_properties(example: Example) -> None:
    try:
        graph = run(example)
    except CompileError as error:
        check_error(example, error)
    else:
        check_graph(example, graph)


@PROPERTIES
@given(examples(with_rules=False))
def test_without_rules_only_memory_crossings_fail(example: Example) -> None:
    if memory_edges(example):
        with pytest.raises(CompileError) as caught:
            run(example)
        assert {d.code for d in caught.value.diagnostics} == {"memory-crossing"}
    else:
        graph = run(example)
        check_graph(example, graph)
        assert len(graph.tasks) == len(example.nodes)


@PROPERTIES
@given(examples(with_rules=False, persist="all"))
def test_without_rules_all_persisted_one_task_per_node(example: Example) -> None:
    graph = run(example)
    check_graph(example, graph)
    assert len(graph.tasks) == len(example.nodes)
    assert all(len(t.nodes) == 1 and t.rule == "node" for t in graph.tasks)
    assert len(graph.edges) == len(node_edges(example.nodes))
    assert graph.used_rules == frozenset()


def outcome(example: Example, nodes: Iterable[Node]) -> str:
    try:
        graph = run(example, nodes)
    except CompileError as error:
        return "\n".join(d.render() for d in error.diagnostics)
    return repr(graph)


@PROPERTIES
@given(examples(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(example: Example, rng: random.Random) -> None:
    shuffled = list(example.nodes)
    rng.shuffle(shuffled)
    assert outcome(example, shuffled) == outcome(example, example.nodes)


@PROPERTIES
@given(examples())
def test_a_member_joining_downstream_keeps_the_memory_groups_id(example: Example) -> None:
    """A node that reads an in-memory output of a memory-made task joins that task, which keeps
    its id; every other task stays as it was."""
    if all(r.by != "memory" for r in example.rules):
        example = replace(
            example, rules=(*example.rules, Rule(len(example.rules), "memory", (), WHERE))
        )
    memory = next(r for r in example.rules if r.by == "memory")
    try:
        before = run(example)
    except CompileError:
        return
    tasks = [t for t in before.tasks if t.rule.startswith(memory.label)]
    outputs = [
        (task, out)
        for task in tasks
        for name in task.nodes
        for out in next(n for n in example.nodes if n.name == name).outputs
        if not example.persisted(out)
    ]
    if not outputs:
        return
    task, dataset = outputs[len(outputs) // 2]
    joining = Node("joins downstream", None, (), (dataset,), ("joined",))
    after = run(replace(example, nodes=(*example.nodes, joining)))
    grown = {t.task_id: set(t.nodes) for t in before.tasks}
    grown[task.task_id].add(joining.name)
    assert {t.task_id: set(t.nodes) for t in after.tasks} == grown


CHAIN = 5_000


def chain(length: int) -> list[Node]:
    """n04999 -> n04998 -> ... -> n00000: names sort against the execution order."""
    return [
        Node(
            f"n{length - 1 - i:05d}",
            None,
            (),
            (f"d{i - 1}",) if i else ("params:x",),
            (f"d{i}",),
        )
        for i in range(length)
    ]


def test_long_in_memory_chain_with_memory_rule_is_one_task() -> None:
    nodes = chain(CHAIN)
    rule = Rule(0, "memory", (), WHERE)
    graph, diagnostics = group_nodes(nodes, lambda d: False, [rule], WHERE)
    assert diagnostics == []
    assert len(graph.tasks) == 1
    (task,) = graph.tasks
    assert task.nodes == tuple(n.name for n in nodes)
    assert task.task_id == slug(f"{nodes[0].name}_group")
    assert task.rule == rule.label
    assert graph.edges == ()
    assert graph.used_rules == frozenset({0})


def test_long_persisted_chain_without_rules_is_one_task_per_node() -> None:
    nodes = chain(CHAIN)
    graph, diagnostics = group_nodes(nodes, lambda d: True, [], WHERE)
    assert diagnostics == []
    assert len(graph.tasks) == CHAIN
    assert len(graph.edges) == CHAIN - 1
    assert set(graph.edges) == {(a.name, b.name) for a, b in itertools.pairwise(nodes)}
    assert graph.datasets[(nodes[0].name, nodes[1].name)] == ("d0",)


def test_a_hashed_id_that_equals_another_nodes_id_is_an_error() -> None:
    """`node` and `...` both slug to `node`; a third node is literally named like a hashed id."""
    from kedro_gitops.grouping import short_hash

    names = ["node", "...", f"node_{short_hash('...')}"]
    nodes = [Node(name, None, (), (), ()) for name in names]
    with pytest.raises(CompileError) as raised:
        group_nodes(nodes, lambda _: True, [], WHERE)
    assert [d.code for d in raised.value.diagnostics] == ["task-id-collision"]
