"""Fuzzing: random and mutated manifests, YAML edge cases and Kedro names with every kind of
character. Two outcomes are allowed: diagnostics (what the CLI turns into exit 2), or DAG files
that Airflow imports, serializes and schedules. Anything else is a bug.

The examples are derandomised. `make test` runs a few hundred; `make fuzz` sets
KEDRO_GITOPS_FUZZ_EXAMPLES=10000.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_gitops.diagnostics import CompileError, Diagnostic
from kedro_gitops.manifest import parse_manifest
from kedro_gitops.plan import build_plan
from kedro_gitops.render import render_plan
from kedro_gitops.snapshot import EnvSnapshot, ProjectSnapshot

from conftest import BIN, CASES, run

EXAMPLES = int(os.environ.get("KEDRO_GITOPS_FUZZ_EXAMPLES", "300"))
BASE = CASES / "executors"
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class EveryEnvironment(dict[str, EnvSnapshot]):
    """A snapshot's environments, any key answered by the same project (mutated manifests change
    the variables an environment is read with, which are part of the key)."""

    def __init__(self, env: EnvSnapshot) -> None:
        super().__init__()
        self.env = env

    def __missing__(self, key: str) -> EnvSnapshot:
        return self.env


def base_snapshot() -> ProjectSnapshot:
    snapshot = ProjectSnapshot.from_json(json.loads((BASE / "snapshot.json").read_text()))
    first = snapshot.environments[sorted(snapshot.environments)[0]]
    envs = ("base", "prod", "staging", "laptop", "local")
    return replace(snapshot, environments=EveryEnvironment(replace(first, conf_envs=envs)))


SNAPSHOT = base_snapshot()
MANIFEST = yaml.safe_load((BASE / "pipelines.deploy.yaml").read_text())

# Values that probe the edges: of YAML, of Airflow's rules, of Python's literals and templating.
EDGES = [
    "", " ", "{pipeline", "{0}", "{{ 7*7 }}", "$(id)", "\\", "'\"", '"""', "\n", "\r\n::error::x",
    "\x1b[31m", "\u2028", "\ufeff", "é中𝄞", "a" * 300, "2026-02-30", "2026-01-01T24:00",
    "0000-01-01", "0001-01-01", "9999-12-31", "Europe", "Etc/GMT+25", "../../etc/passwd",
    "1- * * * *", "*/ * * * *", "0 0 30 2 *", "* * * * * *", "@continuous", "@once", "99999999999d",
    "0s", "1.0", "-1", "1e400", ".inf", "# coding:unicode_escape", "\\u0041", "x" * 101,
    "/", "dags", "..", ".", "pipeline:x",
    0, 1, -1, 2**31, 2**63, 10**40, 1.0, 0.5, -0.0, 1e308, True, False, None, [], {}, [None],
    {"a": None}, {"k": [1, {"b": "c"}]},
]  # fmt: skip
SNIPPETS = [
    "!!int two", "!!binary aGVsbG8=", "!!python/object:os.system ls", "!foo bar", "!!set {a}",
    "&a [*a]", "*undefined", "{<<: 5}", "{<<: [1, 2]}", "1" * 5000, ".nan", "-.inf",
    "[" * 1000 + "]" * 1000, "{a: 1, a: 2}", '"\\0"', '"\\ud800"', "? [a, b]\n: 1", "|\n  x\n",
    "2026-13-01", "0x1F", "0o17", "1_000", "~", "---\na: 1", "%YAML 1.1", "'''", "@",
]  # fmt: skip


def _walk_paths(value: Any, path: tuple[Any, ...], out: list[tuple[Any, ...]]) -> None:
    out.append(path)
    if isinstance(value, dict):
        for key, item in value.items():
            _walk_paths(item, (*path, key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk_paths(item, (*path, i), out)


_BASE_PATHS: list[tuple[Any, ...]] = []
_walk_paths(MANIFEST, (), _BASE_PATHS)
KEYS = sorted({p[-1] for p in _BASE_PATHS if p and isinstance(p[-1], str)})

values = st.one_of(
    st.sampled_from(EDGES),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.sampled_from(EDGES[:20]), max_size=3),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(EDGES), max_size=3),
)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    *parent, last = path
    holder = data
    for part in parent:
        holder = holder[part]
    holder[last] = value
    return data


def _delete(data: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return data
    *parent, last = path
    holder = data
    for part in parent:
        holder = holder[part]
    del holder[last]
    return data


@st.composite
def manifests(draw: st.DrawFn) -> str:
    """A manifest text: the base with a few data mutations, then maybe a text mutation."""
    data = copy.deepcopy(MANIFEST)
    for _ in range(draw(st.integers(1, 4))):
        paths: list[tuple[Any, ...]] = []
        _walk_paths(data, (), paths)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "set":
            data = _set(data, path, draw(values))
        elif action == "delete":
            data = _delete(data, path)
        else:
            holder = data
            for part in path:
                holder = holder[part]
            if isinstance(holder, dict):
                holder[draw(st.sampled_from([*KEYS, "unknown"]))] = draw(values)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    lines = text.split("\n")
    how = draw(st.sampled_from(["none", "none", "snippet", "characters"]))
    index = draw(st.integers(0, len(lines) - 1))
    if how == "snippet" and ": " in lines[index]:
        head = lines[index].split(": ", 1)[0]
        lines[index] = f"{head}: {draw(st.sampled_from(SNIPPETS))}"
    elif how == "characters":
        column = draw(st.integers(0, len(lines[index])))
        lines[index] = lines[index][:column] + draw(st.text(max_size=3)) + lines[index][column:]
    return "\n".join(lines)


names = st.text(min_size=1, max_size=30)


@st.composite
def projects(draw: st.DrawFn) -> tuple[str, ProjectSnapshot]:
    """A one-pipeline project whose pipeline, namespace and node names hold any characters."""
    pipeline = draw(names)
    namespace = draw(st.none() | names)
    count = draw(st.integers(1, 4))
    node_names = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    nodes = []
    for i, name in enumerate(node_names):
        full = f"{namespace}.{name}" if namespace and i % 2 else name
        nodes.append(
            {
                "name": full,
                "namespace": namespace if i % 2 else None,
                "tags": [draw(names)],
                "inputs": [f"d{i - 1}"] if i else [],
                "outputs": [f"d{i}"],
            }
        )
    memory = draw(st.booleans())
    datasets = {f"d{i}": "MemoryDataset" if memory else "pandas.CSVDataset" for i in range(count)}
    env = {"datasets": datasets, "parameters": [], "pipelines": {pipeline: nodes}}
    snapshot = ProjectSnapshot.from_json(
        {"kedro_version": "1.0.0", "package_name": "p", "environments": {"base": env}}
    )
    first = snapshot.environments["base"]
    snapshot = replace(snapshot, environments=EveryEnvironment(replace(first, conf_envs=("base",))))
    groups = draw(st.sampled_from([[], [{"by": "memory"}], [{"by": "namespace"}]]))
    manifest = {
        "version": 1,
        "project": {"path": "project"},
        "environments": {"base": {"kedro_env": "base"}},
        "dags": [{"pipeline": pipeline, "groups": groups, "schedule": "@daily"}],
    }
    return yaml.safe_dump(manifest, allow_unicode=True), snapshot


def outcome(text: str, snapshot: ProjectSnapshot) -> dict[str, str] | list[Diagnostic]:
    """The files a manifest compiles to, or the diagnostics that refuse it."""
    try:
        return render_plan(build_plan(parse_manifest(text, "pipelines.deploy.yaml"), snapshot))
    except CompileError as exc:
        return list(exc.diagnostics)


class Outcomes:
    """Collects the files of successful compiles, one folder per example, for Airflow."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.compiled = 0
        self.refused = 0

    def compile(self, text: str, snapshot: ProjectSnapshot) -> None:
        result = outcome(text, snapshot)
        if isinstance(result, list):
            assert any(d.severity == "error" for d in result), "a refusal names its reasons"
            for d in result:
                assert "\n" not in d.render().replace("\n  hint: ", " "), "one line per finding"
            self.refused += 1
            return
        folder = self.root / f"{self.compiled:05d}"
        folder.mkdir()
        for name, source in result.items():
            (folder / name).write_text(source, "utf-8")
        self.compiled += 1


def _check_in_airflow(outcomes: Outcomes, airflow_env: dict[str, str]) -> None:
    proc = run(
        [str(BIN / "python"), str(CASES.parent / "dagbag_probe.py"), str(outcomes.root)],
        outcomes.root,
        airflow_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["dags"] >= outcomes.compiled
    assert report["errors"] == {}, json.dumps(report["errors"], indent=1)[:5000]


def test_mutated_manifests(tmp_path: Path, airflow_env: dict[str, str]) -> None:
    outcomes = Outcomes(tmp_path)

    @FUZZ
    @given(manifests())
    def one(text: str) -> None:
        outcomes.compile(text, SNAPSHOT)

    one()
    assert outcomes.compiled > 0, "some mutations keep the manifest valid"
    assert outcomes.refused > 0, "most mutations break it"
    _check_in_airflow(outcomes, airflow_env)


def test_kedro_names_with_any_character(tmp_path: Path, airflow_env: dict[str, str]) -> None:
    outcomes = Outcomes(tmp_path)

    @FUZZ
    @given(projects())
    def one(case: tuple[str, ProjectSnapshot]) -> None:
        outcomes.compile(*case)

    one()
    assert outcomes.compiled, "most projects compile"
    _check_in_airflow(outcomes, airflow_env)


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_yaml_edge_cases(snippet: str) -> None:
    """Each edge case in a value: a compile, or a refusal with an error (nothing else)."""
    text = (BASE / "pipelines.deploy.yaml").read_text().replace("owner: ml", f"owner: {snippet}")
    result = outcome(text, SNAPSHOT)
    assert result
    assert not isinstance(result, list) or any(d.severity == "error" for d in result)
