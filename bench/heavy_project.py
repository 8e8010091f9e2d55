"""Write a Kedro 1.x project of 50 nodes whose modules import heavier libraries, for the run bench.

    python bench/heavy_project.py OUT_DIR

Five modular pipelines (`stage0` ... `stage4`, found by `find_pipelines`), ten nodes each in a
chain: the first node of a stage reads the last output of the stage before. Outputs alternate
between persisted (a pickle dataset factory) and in-memory, so grouping by memory joins pairs of
nodes. Every stage's node module imports pandas, scikit-learn and SciPy, as a team's would; the
nodes themselves do little, so what a run costs beyond `kedro run` is the cost of running tasks.
"""

from __future__ import annotations

import sys
from pathlib import Path

STAGES, NODES = 5, 10

PYPROJECT = """\
[project]
name = "heavy"
version = "0.1.0"
requires-python = ">=3.10"

[tool.kedro]
package_name = "heavy"
project_name = "heavy"
kedro_init_version = "1.7.0"
source_dir = "src"
"""

CATALOG = """\
source:
  type: pandas.CSVDataset
  filepath: data/01_raw/source.csv

"{name}_p":
  type: pickle.PickleDataset
  filepath: ${oc.env:HEAVY_DATA,data}/{name}.pkl
"""

SETTINGS = """\
from omegaconf.resolvers import oc

CONFIG_LOADER_ARGS = {"custom_resolvers": {"oc.env": oc.env}}
"""

REGISTRY = '''\
"""The project's pipelines, found by Kedro: a run loads only the modules of the pipelines it
names."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
'''

NODES_MODULE = '''\
"""Stage {stage}'s nodes: small steps on a frame, with the imports of a modelling team."""

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.preprocessing import StandardScaler


def step(frame: pd.DataFrame) -> pd.DataFrame:
    scaled = StandardScaler().fit_transform(frame[["x"]].to_numpy())
    return frame.assign(x=frame["x"] + 1, z=np.ravel(scaled), p=stats.norm.cdf(frame["x"]))
'''

PIPELINE_MODULE = """\
from kedro.pipeline import Node, Pipeline

from .nodes import step


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
{nodes}
    ])
"""


def output(stage: int, i: int) -> str:
    """The dataset node `i` of `stage` writes: persisted at odd positions and at a stage's end."""
    persisted = i % 2 == 1 or i == NODES - 1
    return f"s{stage}_n{i}" + ("_p" if persisted else "")


def write_project(out: Path) -> None:
    package = out / "src" / "heavy"
    for folder in (
        package / "pipelines",
        out / "conf/base",
        out / "conf/local",
        out / "data/01_raw",
    ):
        folder.mkdir(parents=True, exist_ok=True)
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "conf/base/catalog.yml").write_text(CATALOG)
    (out / "conf/base/parameters.yml").write_text("{}\n")
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(200))
    (out / "data/01_raw/source.csv").write_text("id,x\n" + rows + "\n")
    for name in ("__init__.py", "pipelines/__init__.py"):
        (package / name).write_text("")
    (package / "settings.py").write_text(SETTINGS)
    (package / "pipeline_registry.py").write_text(REGISTRY)
    for stage in range(STAGES):
        folder = package / "pipelines" / f"stage{stage}"
        folder.mkdir(exist_ok=True)
        nodes = []
        for i in range(NODES):
            source = (
                output(stage, i - 1) if i else output(stage - 1, NODES - 1) if stage else "source"
            )
            nodes.append(
                f'        Node(step, "{source}", "{output(stage, i)}", name="s{stage}_n{i}"),'
            )
        (folder / "__init__.py").write_text("from .pipeline import create_pipeline\n")
        (folder / "nodes.py").write_text(NODES_MODULE.format(stage=stage))
        (folder / "pipeline.py").write_text(PIPELINE_MODULE.format(nodes="\n".join(nodes)))


if __name__ == "__main__":
    write_project(Path(sys.argv[1]))
