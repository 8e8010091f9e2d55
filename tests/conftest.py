"""Shared fixtures: a private Airflow home, a copy of the example project, golden-file updates."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "spaceflights"
CASES = ROOT / "tests" / "cases"
BIN = Path(sys.executable).parent

os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"
os.environ["KEDRO_GITOPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="kedro-gitops-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite tests/cases/*/expected")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def copy_example(dest: Path) -> Path:
    """A checkout-like tree: the root manifest and the example project, no outputs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".telemetry", "*.log")
    shutil.copytree(EXAMPLE, dest / "examples" / "spaceflights", ignore=ignore)
    shutil.copy(ROOT / "pipelines.deploy.yaml", dest / "pipelines.deploy.yaml")
    return dest


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


@pytest.fixture(scope="session")
def migrated_airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow metadata database migrated once per session, copied for each test."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True
    )
    return home / "airflow.db"


def airflow_home(home: Path, database: Path) -> dict[str, str]:
    """Environment for Airflow subprocesses: AIRFLOW_HOME `home` with a copy of `database`."""
    home.mkdir()
    shutil.copyfile(database, home / "airflow.db")
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # A value that changes from one parse to the next is an import error, not a warning.
        "AIRFLOW__DAG_PROCESSOR__DAG_VERSION_INFLATION_CHECK_LEVEL": "error",
        "PYTHONDONTWRITEBYTECODE": "1",  # loading golden DAG folders leaves no __pycache__
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }


@pytest.fixture
def airflow_env(migrated_airflow_db: Path, tmp_path: Path) -> dict[str, str]:
    """A deployment of its own for each test: Assets of other tests' checkouts, which share
    names but not paths, would otherwise make each other inactive."""
    return airflow_home(tmp_path / "airflow-home", migrated_airflow_db)


@pytest.fixture(scope="module")
def module_airflow_env(
    migrated_airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One Airflow home for the DagBag loads of a module's tests."""
    return airflow_home(tmp_path_factory.mktemp("airflow") / "home", migrated_airflow_db)


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def kedro_gitops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "kedro-gitops"), *args], cwd)


@pytest.fixture(scope="session", autouse=True)
def stop_warm_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The warm servers the session's DAG runs started (they would idle for minutes) stop with
    it: those whose Airflow home is in the session's temporary folder, and those of this
    checkout's example (the README's commands run it)."""
    yield
    home = f"AIRFLOW_HOME={tmp_path_factory.getbasetemp()}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            arguments = (proc / "cmdline").read_bytes().split(b"\0")
            if not any(b"/kedro-gitops-" in a and a.endswith(b".sock") for a in arguments):
                continue  # not a warm server (its first argument is its socket)
            environ = (proc / "environ").read_bytes().split(b"\0")
            if any(v.startswith(home) for v in environ) or Path(
                os.readlink(proc / "cwd")
            ).is_relative_to(ROOT):
                os.kill(int(proc.name), signal.SIGTERM)
        except OSError:  # gone meanwhile
            continue
