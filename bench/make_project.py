"""Write a synthetic Kedro 1.x project of N nodes for the benchmark.

    python bench/make_project.py N OUT_DIR

The pipeline `main` has chains, fan-in and fan-out across 10 namespaces, tags, and a mix of
persisted datasets (a dataset factory in the catalog) and in-memory ones. In-memory datasets only
join a node to the next one, so grouping by memory is always acyclic. The graph comes from a
seeded generator: the same N gives the same project.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

PYPROJECT = """\
[project]
name = "synth"
version = "0.1.0"
requires-python = ">=3.10"

[tool.kedro]
package_name = "synth"
project_name = "synth"
kedro_init_version = "1.7.0"
source_dir = "src"
"""

CATALOG = """\
"{name}_p":
  type: pickle.PickleDataset
  filepath: data/{name}.pkl
"""

REGISTRY = '''\
"""Builds the pipeline from graph.json: one node per entry."""

import json
from pathlib import Path

from kedro.pipeline import Node, Pipeline


def passthrough(*args):
    return args[0] if args else None


def register_pipelines():
    spec = json.loads((Path(__file__).parent / "graph.json").read_text())
    nodes = [
        Node(passthrough, n["inputs"], n["output"], name=n["name"], namespace=n["namespace"],
             tags=n["tags"])
        for n in spec
    ]
    main = Pipeline(nodes)
    return {"main": main, "__default__": main}
'''


def graph(size: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    nodes: list[dict[str, object]] = []
    persisted: list[str] = []
    previous_in_memory = ""
    for i in range(size):
        namespace = f"ns{i * 10 // size}"
        inputs: list[str] = []
        if previous_in_memory:
            inputs.append(previous_in_memory)  # in memory: joins a node to the next one only
        elif persisted and rng.random() < 0.8:  # chains, and fan-out from recent outputs
            inputs.append(persisted[-1] if rng.random() < 0.6 else rng.choice(persisted[-50:]))
        if len(persisted) > 1 and rng.random() < 0.3:  # fan-in from further back
            inputs.append(rng.choice(persisted[-200:]))
        in_memory = rng.random() < 0.25 and i + 1 < size
        output = f"{namespace}.d{i}_{'m' if in_memory else 'p'}"
        nodes.append(
            {
                "name": f"n{i}",
                "namespace": namespace,
                "inputs": sorted(set(inputs)) or ["source_p"],
                "output": output,
                "tags": ["machine-large"] if i % 17 == 0 else [],
            }
        )
        previous_in_memory = output if in_memory else ""
        if not in_memory:
            persisted.append(output)
    return nodes


def write_project(size: int, out: Path) -> None:
    package = out / "src" / "synth"
    package.mkdir(parents=True, exist_ok=True)
    (out / "conf" / "base").mkdir(parents=True, exist_ok=True)
    (out / "conf" / "local").mkdir(parents=True, exist_ok=True)
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "conf" / "base" / "catalog.yml").write_text(CATALOG)
    (out / "conf" / "base" / "parameters.yml").write_text("{}\n")
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text("")
    (package / "pipeline_registry.py").write_text(REGISTRY)
    (package / "graph.json").write_text(json.dumps(graph(size)))


if __name__ == "__main__":
    write_project(int(sys.argv[1]), Path(sys.argv[2]))
