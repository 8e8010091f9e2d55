"""Small, iterative graph helpers (no recursion, so 10,000-node chains are fine)."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


def topo_order(nodes: Iterable[T], edges: Mapping[T, Iterable[T]]) -> list[T]:
    """Kahn's algorithm, smallest ready node first (by `str`), so the order is deterministic.

    Nodes on a cycle are left out; compare the length with the input to detect one.
    """
    nodes = list(nodes)
    indegree = dict.fromkeys(nodes, 0)
    for src in nodes:
        for dst in edges.get(src, ()):
            indegree[dst] += 1
    ready = [(str(n), i, n) for i, n in enumerate(nodes) if indegree[n] == 0]
    heapq.heapify(ready)
    order = []
    counter = len(nodes)
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for dst in edges.get(node, ()):
            indegree[dst] -= 1
            if indegree[dst] == 0:
                counter += 1
                heapq.heappush(ready, (str(dst), counter, dst))
    return order


def find_cycle(nodes: Iterable[T], edges: Mapping[T, Iterable[T]]) -> list[T]:
    """One cycle as [a, b, ..., a], or [] when the graph is acyclic (iterative DFS)."""
    state: dict[T, int] = {}  # 1 = on the stack, 2 = done
    for start in sorted(nodes, key=str):
        if start in state:
            continue
        stack: list[tuple[T, list[T]]] = [
            (start, sorted(edges.get(start, ()), key=str, reverse=True))
        ]
        path = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(edges.get(nxt, ()), key=str, reverse=True)))
    return []


class UnionFind(Generic[T]):
    """Disjoint sets with path halving."""

    def __init__(self) -> None:
        self.parent: dict[T, T] = {}

    def find(self, item: T) -> T:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grand = self.parent[parent]
            self.parent[item] = grand
            item, parent = parent, grand
        return item

    def union(self, a: T, b: T) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
