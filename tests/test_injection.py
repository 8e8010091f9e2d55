"""Values are data: every string that reaches a generated file, for every executor, comes out of
Airflow exactly as written in the manifest or the project, after the file is parsed and after
Airflow renders each task's templated fields (`render_template_fields`), and runs nothing.

Each value carries a payload that would show if it were pasted into Python, a shell, Jinja, a
format string or a `coding:` declaration; a marker after it tells one value from another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kedro_gitops.cli import plan_text
from kedro_gitops.manifest import parse_manifest
from kedro_gitops.plan import build_plan
from kedro_gitops.render import render_plan
from kedro_gitops.snapshot import ProjectSnapshot, env_key

from conftest import BIN, CASES, run

PAYLOAD = '{{ 7*7 }}{% raw %}$(touch pwned)`touch pwned`\'";touch pwned;#\\N{BULLET}\\x41"""'
EXECUTORS = ("subprocess", "venv", "python", "kubernetes", "gke", "docker")


class Values:
    """Hands out payload-carrying strings, each with its own marker `@<n>@`."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def unseen(self) -> str:
        """A value the generated files have no use for (a dataset name, a matched tag)."""
        return f"{PAYLOAD}@unseen-{len(self.given)}@"

    def __call__(self, extra: str = "") -> str:
        value = f"{PAYLOAD}{extra}@{len(self.given)}@"
        self.given.append(value)
        return value


def executor_options(kind: str, v: Values) -> dict[str, Any]:
    if kind == "python":
        return {"type": "python"}  # the environment's `env` reaches it
    env = {"PAYLOAD_VAR": v("\n# coding:unicode_escape\n"), "OTHER": v()}
    if kind == "subprocess":
        return {"type": kind, "env": env}
    if kind == "venv":
        return {"type": "venv", "python": "/opt/" + v() + "/bin/python", "env": env}
    if kind == "docker":
        return {
            "type": "docker",
            "image": v(),
            "python": v(),
            "env": env,
            "mounts": [{"source": v(), "target": "/" + v()}],
            "network_mode": v(),
        }
    pod: dict[str, Any] = {
        "type": kind,
        "image": v(),
        "python": v(),
        "namespace": v(),
        "env": env,
        "labels": {"team": v()},
        "annotations": {"note": v()},
        "config_maps": [v()],
        "node_selector": {"pool": v()},
        "service_account": v(),
        "image_pull_secrets": [v()],
        "secrets": [{"secret": v(), "key": v(), "env": "SECRET_VAR"}],
    }
    if kind == "gke":
        pod.update(project_id=v(), location=v(), cluster_name=v(), gcp_conn_id=v())
    return pod


def case(kind: str) -> tuple[str, dict[str, Any], list[str]]:
    """A manifest, a project snapshot and the payload-carrying values they hold."""
    v = Values()
    pipeline, kedro_env, namespace = v(), v(), v()
    variables = {"ENV_VAR": v("\r\n::error::x")}
    manifest = {
        "version": 1,
        "project": {"path": "project"},
        "defaults": {"owner": v(), "tags": [v()[:90]], "executor": "chosen"},
        "environments": {"prod": {"kedro_env": kedro_env, "env": variables}},
        "executors": {"chosen": executor_options(kind, v)},
        "tasks": [{"tags": ["t"], "pool": v(), "queue": v()}],
        "dags": [{"pipeline": pipeline, "dag_id": "injected", "environments": ["prod"]}],
    }
    first, second = v(), v()
    nodes = [
        {"name": f"{namespace}.{first}", "namespace": namespace, "tags": ["t"], "inputs": ["a"],
         "outputs": [v.unseen()]},
        {"name": second, "namespace": None, "tags": [v.unseen()], "inputs": [], "outputs": ["a"]},
    ]  # fmt: skip
    datasets = {"a": "pandas.CSVDataset", nodes[0]["outputs"][0]: "pandas.CSVDataset"}
    key = env_key(kedro_env, None, tuple(sorted(variables.items())))
    snapshot = {
        "kedro_version": "1.0.0",
        "package_name": "project",
        "environments": {
            key: {
                "datasets": datasets,
                "parameters": [],
                "pipelines": {pipeline: nodes},
                "conf_envs": ["base", kedro_env],
            }
        },
    }
    return yaml.safe_dump(manifest, allow_unicode=True), snapshot, v.given


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from strings(k)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    out = {}
    for kind in EXECUTORS:
        text, snapshot, given = case(kind)
        folder = tmp_path_factory.mktemp(kind)
        plan = build_plan(
            parse_manifest(text, "pipelines.deploy.yaml"), ProjectSnapshot.from_json(snapshot)
        )
        for name, source in render_plan(plan).items():
            (folder / name).write_text(source, "utf-8")
        out[kind] = (folder, given)
    return out


@pytest.mark.parametrize("kind", EXECUTORS)
def test_values_reach_airflow_verbatim_and_run_nothing(
    kind: str, compiled: dict[str, tuple[Path, list[str]]], airflow_env: dict[str, str]
) -> None:
    folder, given = compiled[kind]
    proc = run(
        [str(BIN / "python"), str(CASES.parent / "executor_probe.py"), str(folder)],
        folder,
        airflow_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["import_errors"] == {}
    assert not (folder / "pwned").exists()
    found = list(strings(seen))
    for value in given:
        marker = value[value.rindex("@", 0, -1) :]
        holders = [s for s in found if marker in s]
        assert holders, f"{value!r} reached no field Airflow sees"
        # Each value shows only whole (a rendered `{{ 7*7 }}` would leave `49` before it).
        assert all(value in s or value[:90] in s for s in holders), (marker, holders)


def test_plan_output_keeps_each_value_on_its_line() -> None:
    text, snapshot, _ = case("python")
    [env] = snapshot["environments"].values()
    [nodes] = env["pipelines"].values()
    nodes[1]["name"] = "split\n::error::x"
    plan = build_plan(
        parse_manifest(text, "pipelines.deploy.yaml"), ProjectSnapshot.from_json(snapshot)
    )
    shown = plan_text(plan)
    assert "split\\n::error::x" in shown
    assert not any(line.startswith("::") for line in shown.split("\n"))
