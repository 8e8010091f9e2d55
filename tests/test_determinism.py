"""Same inputs, same bytes: any PYTHONHASHSEED, any checkout path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import BIN, ROOT, copy_example, run


def compile_in(checkout: Path, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = run([str(BIN / "kedro-gitops"), "compile"], checkout, env)
    assert proc.returncode == 0, proc.stderr
    return {p.name: p.read_bytes() for p in sorted((checkout / "dags").glob("*.py"))}


def test_two_checkouts_two_seeds_identical_bytes(tmp_path: Path) -> None:
    first = compile_in(copy_example(tmp_path / "a"), "1")
    second = compile_in(copy_example(tmp_path / "somewhere" / "else entirely"), "4242")
    assert first == second
    assert first == {p.name: p.read_bytes() for p in sorted((ROOT / "dags").glob("*.py"))}
    for text in first.values():
        assert str(tmp_path).encode() not in text
        assert str(ROOT).encode() not in text
        assert os.environ.get("USER", "root").encode() + b"/" not in text
        assert text.endswith(b"\n")
        assert b"\r" not in text


@pytest.mark.parametrize("seeds", [("1", "2")])
def test_airflow_dag_hash_is_the_same_under_any_hash_seed(
    seeds: tuple[str, str], airflow_env: dict[str, str], tmp_path: Path
) -> None:
    """Loading a generated file in two processes with different hash seeds gives the same
    serialized DAG (Airflow's dag_hash): no new DAG version appears without a change."""
    cases = ("executors", "runtimes", "ui_display", "awkward_names")  # every executor, groups
    shutil.copytree(ROOT / "dags", tmp_path / "dags")
    for case in cases:
        shutil.copytree(ROOT / "tests" / "cases" / case / "expected" / "dags", tmp_path / case)
    seen = []
    for seed in seeds:
        proc = run(
            [str(BIN / "python"), str(ROOT / "tests" / "dagbag_probe.py"), str(tmp_path)],
            tmp_path,
            {**airflow_env, "PYTHONHASHSEED": seed},
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        seen.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert seen[0]["errors"] == {}, seen[0]["errors"]
    assert {key.split("/")[0] for key in seen[0]["hashes"]} == {"dags", *cases}
    assert seen[0] == seen[1]
