"""Where a DAG's tasks run and what they will find there, checked before anything is written.

A generated DAG runs Kedro on an Airflow worker in one of three runtimes:
- `checkout`: git-sync or a GitDagBundle puts the committed repository on the worker, and the
  project sits beside the DAG file. Only committed files exist there.
- `package`: the project is installed on the workers as a wheel (`kedro package`), and its conf
  comes from a folder or an archive (`conf_source`).
- `image`: a container image holds the project and its interpreter (kubernetes, gke, docker).
Everything here is pure: the checks that need git are in `workspace.py`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from .diagnostics import Diagnostic, Location
from .manifest import Executor
from .snapshot import EnvSnapshot, Node, base_name, is_parameter


@dataclass(frozen=True)
class Interpreter:
    """The interpreter that runs Kedro on the worker.

    kind: `worker` (the one running the Airflow task), `path` (absolute), `project` (relative to
    the project directory of a checkout), `env` (named by a variable the worker sets) or `image`
    (looked up inside the container image).
    """

    kind: str
    value: str = ""

    def describe(self) -> str:
        """Words for plans and comments; values appear as Python literals."""
        return {
            "worker": "the interpreter running the Airflow task",
            "path": repr(self.value),
            "project": f"{self.value!r} in the project directory",
            "env": f"the path in the worker's environment variable {self.value!r}",
            "image": f"{self.value!r} in the image",
        }[self.kind]


def interpreter(executor: Executor) -> Interpreter:
    configured = executor.option("python")
    if executor.runtime == "image":
        return Interpreter("image", str(configured or "python"))
    if isinstance(configured, dict):
        return Interpreter("env", str(configured["env"]))
    if not configured:
        return Interpreter("worker")
    path = str(configured)
    return Interpreter("path" if posixpath.isabs(path) else "project", path)


def unproduced_inputs(nodes: Iterable[Node], catalog: EnvSnapshot) -> list[str]:
    """Datasets the nodes read that none of them writes and the catalog does not persist: in
    memory, `kedro run` would find them empty."""
    produced = {base_name(out) for node in nodes for out in node.outputs}
    return sorted(
        {
            dataset
            for node in nodes
            for dataset in node.inputs
            if not is_parameter(dataset)
            and base_name(dataset) not in produced
            and not catalog.persisted(dataset)
        }
    )


def listed(items: list[tuple[str, str]], limit: int = 3) -> str:
    shown = ", ".join(f"`{name}` ({path})" for name, path in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def local_reads_and_writes(
    nodes: Iterable[Node], catalog: EnvSnapshot
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(dataset, relative path) pairs the nodes read from outside and write."""
    nodes = list(nodes)
    produced = {out for node in nodes for out in node.outputs}
    paths = catalog.local_paths
    reads = sorted(
        {(d, paths[d]) for n in nodes for d in n.inputs if d in paths and d not in produced}
    )
    writes = sorted({(d, paths[d]) for d in produced if d in paths})
    return reads, writes


def data_warnings(
    runtime: str,
    reads_and_writes: tuple[list[tuple[str, str]], list[tuple[str, str]]],
    where: Location,
    catalog_file: str,
) -> list[Diagnostic]:
    """Relative local paths that will not be where the next task or run expects them."""
    reads, writes = reads_and_writes
    place = {
        "checkout": "inside the checkout, which the next commit replaces",
        "package": "in the task's temporary working directory",
        "image": "inside the container, which is gone when the task ends",
    }[runtime]
    hint = (
        f"use absolute or remote paths in `{catalog_file}`, or a data root the worker sets "
        "(`${oc.env:DATA_ROOT}` in the catalog, `DATA_ROOT` in the environment's `env`)"
    )
    found = []
    if writes:
        found.append(
            Diagnostic(
                where,
                "warning",
                "relative-data-path",
                f"writes relative local paths: {listed(writes)}; on the worker they land {place}",
                hint=hint,
            )
        )
    if reads and runtime != "checkout":  # a checkout has what git tracks: see workspace.py
        found.append(
            Diagnostic(
                where,
                "warning",
                "relative-data-path",
                f"reads relative local paths: {listed(reads)}; "
                f"the {runtime} runtime has no project directory to find them in",
                hint=hint,
            )
        )
    return found
