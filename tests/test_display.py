"""What the Airflow UI shows of a generated DAG, read from the objects Airflow loads: display
names, namespace TaskGroups and Markdown docs; and ruff's Airflow rules on the generated files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import BIN, CASES, ROOT, run
from test_cases import compile_case

PROBE = textwrap.dedent(
    """
    import json, sys
    sys.modules["kedro"] = None  # parsing must not need Kedro
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag in bag.dags.values():
        groups = {
            gid: {
                "name": g.group_display_name,
                "parent": g.parent_group.group_id if g.parent_group else None,
                "doc": g.doc_md,
                "children": sorted(g.children),
            }
            for gid, g in dag.task_group.get_task_group_dict().items()
            if gid is not None
        }
        tasks = {
            t.task_id: {
                "name": t.task_display_name,
                "group": t.task_group.group_id if t.task_group else None,
                "doc": t.doc_md,
            }
            for t in dag.tasks
        }
        edges = sorted([t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids)
        out["dags"][dag.dag_id] = {
            "name": dag.dag_display_name, "doc": dag.doc_md, "groups": groups, "tasks": tasks,
            "edges": edges,
        }
    print(json.dumps(out))
    """
)


def load(files: dict[str, str], folder: Path, env: dict[str, str]) -> dict:
    for name, text in files.items():
        if name.startswith("dags/"):
            (folder / name.removeprefix("dags/")).write_text(text, encoding="utf-8")
    proc = run([str(BIN / "python"), "-c", PROBE, str(folder)], folder, env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_kedro_names_namespaces_and_docs_reach_airflow(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    seen = load(compile_case(CASES / "ui_display"), tmp_path, airflow_env)
    assert seen["errors"] == {}
    dag = seen["dags"]["training_prod"]
    assert dag["name"] == "training (prod)"
    # the DAG's docs: what it deploys, from where, how to regenerate, and every task's nodes
    for text in (
        "`training`",
        "`prod`",
        "`subprocess`",
        "`0 3 * * *` (UTC)",
        "manifest: `pipelines.deploy.yaml`",
        "`kedro-gitops compile --manifest pipelines.deploy.yaml`",
        "- `ingest`: `ingest.load_node`, `ingest.clean_node`; grouped by rule 1 of `groups` "
        "(`by: group`)",
    ):
        assert text in dag["doc"], text
    tasks = dag["tasks"]
    # task ids stay short and safe; the UI shows the Kedro name verbatim
    assert tasks["models.report_x_y"]["name"] == "models.report `x` | y"
    assert tasks["ingest"]["name"] == "ingest"  # a grouped task: its group's name
    assert tasks["models.linear.fit_node"]["name"] == "models.linear.fit_node"
    # namespaces nest as TaskGroups; a group id never takes a task's id
    groups = dag["groups"]
    assert {g: (v["name"], v["parent"]) for g, v in groups.items()} == {
        "ingest_ns_6eb7f2ea": ("ingest", None),
        "models": ("models", None),
        "models_linear": ("linear", "models"),
        "models_tree": ("tree", "models"),
    }
    assert groups["models_linear"]["doc"] == "Kedro namespace `models.linear`: 2 task(s).\n"
    assert sorted(groups["models"]["children"]) == [
        "models.report_x_y",
        "models_linear",
        "models_tree",
    ]
    assert {t: v["group"] for t, v in tasks.items()} == {
        "ingest": "ingest_ns_6eb7f2ea",
        "models.linear.fit_node": "models_linear",
        "models.linear.score_node": "models_linear",
        "models.report_x_y": "models",
        "models.tree.fit_node": "models_tree",
        "publish": "models_tree",
    }
    assert ["models.linear.fit_node", "models.linear.score_node"] in dag["edges"]
    assert ["ingest", "models.tree.fit_node"] in dag["edges"]
    # a task's docs: its nodes with function, source file and line, datasets and their types
    doc = tasks["ingest"]["doc"]
    assert doc.index("`ingest.load_node`") < doc.index("`ingest.clean_node`")
    assert doc.startswith("2 Kedro nodes in run order, grouped by rule 1 of `groups` (`by: group`)")
    # the project's own function by its name in its file; other code by its dotted path
    assert "function: `clean` in `src/demo/pipelines/ingest/nodes.py:19`" in doc
    assert "inputs: `ingest.loaded` (MemoryDataset), `params:ingest.rules` (parameters)" in doc
    assert "outputs: `ingest.clean` (pandas.ParquetDataset)" in doc
    assert "function: `builtins.sorted`\n" in tasks["models.tree.fit_node"]["doc"]
    assert tasks["publish"]["doc"].startswith("A Kedro node no grouping rule took:")
    assert "``models.report `x` | y``" in tasks["models.report_x_y"]["doc"]


def test_a_dag_grouped_by_namespace_has_no_task_groups(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    seen = load(compile_case(CASES / "memory_naming"), tmp_path, airflow_env)
    assert seen["errors"] == {}
    assert seen["dags"]["v2_named_dev"]["groups"] == {}
    assert seen["dags"]["v1_dev"]["groups"] != {}


def test_generated_files_pass_ruff_airflow_rules() -> None:
    """Every AIR rule, preview ones included, on the committed example DAGs and the goldens."""
    targets = [str(ROOT / "dags"), *map(str, sorted(CASES.glob("*/expected/dags")))]
    ruff = [str(BIN / "ruff"), "check", "--no-cache", "--isolated", "--select", "AIR", "--preview"]
    proc = run([*ruff, *targets], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
