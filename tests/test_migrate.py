"""`kedro-gitops migrate`: a project's kedro-airflow configuration and `kedro airflow create`
options become a manifest; what has no equivalent is listed with a hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kedro_gitops.build import load_manifest
from kedro_gitops.cli import INVALID, OK
from kedro_gitops.migrate import duration, start_date

from conftest import EXAMPLE, kedro_gitops

AIRFLOW_YML = """\
# kedro-airflow: settings of every DAG, then per pipeline
default:
  start_date: [2024, 3, 1]
  max_active_runs: 2
  schedule_interval: "@daily"
  catchup: false
  owner: data-platform
  depends_on_past: true
  email_on_failure: true
  email_on_retry: false
  retries: 3
  retry_delay: 10
  tags: [spaceflights]

data_science:
  owner: ds-team
  schedule: "0 6 * * 1"
  sla: 3600

reporting:
  owner: bi-team
"""
# conf/prod's blocks replace base's whole, as Kedro's config loader merges environments.
PROD_AIRFLOW_YML = """\
data_science:
  owner: ds-prod
  retry_delay: 90
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".telemetry", "*.log")
    path = shutil.copytree(EXAMPLE, tmp_path / "spaceflights", ignore=ignore)
    (path / "conf" / "base" / "airflow.yml").write_text(AIRFLOW_YML)
    (path / "conf" / "prod" / "airflow").mkdir()
    (path / "conf" / "prod" / "airflow" / "dags.yml").write_text(PROD_AIRFLOW_YML)
    return path


def test_migrate_carries_the_settings_over_and_lists_the_rest(project: Path) -> None:
    proc = kedro_gitops(
        "migrate",
        "--pipelines", "data_processing,data_science",
        "--env", "prod",
        "--group-by", "memory",
        "--params", "max_active_runs=1",
        "--jinja-file", "templates/custom.j2",
        cwd=project / "conf",
    )  # fmt: skip
    assert proc.returncode == OK, proc.stderr
    assert "wrote ../pipelines.deploy.yaml" in proc.stderr
    text = (project / "pipelines.deploy.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert "# (conf/base/airflow.yml, conf/prod/airflow/dags.yml)." in text
    data = yaml.safe_load(text)
    assert data["project"] == {"path": "."}
    assert data["output"] == "dags"
    assert data["defaults"] == {
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": "10m",
        "start_date": "2024-03-01",
        "catchup": False,
        "max_active_runs": 1,  # --params wins over the files
        "tags": ["spaceflights"],
    }
    assert data["environments"] == {"prod": {"kedro_env": "prod"}}
    assert data["dags"] == [
        {"pipeline": "data_processing", "schedule": "@daily", "groups": [{"by": "memory"}]},
        {  # conf/prod's block replaced base's: its schedule and sla are gone
            "pipeline": "data_science",
            "schedule": "@daily",
            "groups": [{"by": "memory"}],
            "owner": "ds-prod",
            "retry_delay": "1h30m",
        },
    ]
    assert len(load_manifest(project / "pipelines.deploy.yaml").dags) == 2

    err = proc.stderr
    dropped = err[err.index("not carried over:") : err.index("note:")]
    assert dropped.count("\n  - ") == 4
    assert "  - --jinja-file templates/custom.j2\n    hint: kedro-gitops generates the DAG" in err
    assert "  - default.depends_on_past: true (conf/base/airflow.yml)\n    hint: " in err
    assert "  - default.email_on_failure: true (conf/base/airflow.yml)\n    hint: " in err
    assert "email_on_retry" not in dropped  # false: Airflow's default, nothing is lost
    assert (
        "  - reporting (conf/base/airflow.yml)\n    hint: a block for pipeline `reporting`" in err
    )
    assert "#   default.depends_on_past: true (conf/base/airflow.yml)" in text
    assert "note: kedro-airflow named every DAG `spaceflights`" in err
    assert sorted(p.name for p in (project / "dags").glob("*.py")) == [
        "data_processing_prod.py",
        "data_science_prod.py",
    ]
    assert kedro_gitops("validate", cwd=project).returncode == OK


def test_without_configuration_the_template_defaults_carry_over(project: Path) -> None:
    (project / "conf" / "base" / "airflow.yml").unlink()
    shutil.rmtree(project / "conf" / "prod" / "airflow")
    proc = kedro_gitops("migrate", "--group-in-memory", "--tags", "nightly", cwd=project)
    assert proc.returncode == OK, proc.stderr
    data = yaml.safe_load((project / "pipelines.deploy.yaml").read_text())
    assert data["defaults"] == {
        "owner": "airflow",
        "retries": 1,
        "retry_delay": "5m",
        "start_date": "2023-01-01",
        "catchup": False,
        "max_active_runs": 3,
    }
    assert data["environments"] == {"local": {"kedro_env": "local"}}  # kedro-airflow's default
    assert data["dags"] == [
        {"pipeline": "__default__", "schedule": "@once", "groups": [{"by": "memory"}]}
    ]
    assert "  - --tags nightly\n    hint: kedro-gitops deploys whole pipelines" in proc.stderr
    assert "note: environment `local` (kedro-airflow's default) is usually git-ignored" in (
        proc.stderr
    )


def test_an_existing_manifest_is_kept_without_force(project: Path) -> None:
    manifest = project / "pipelines.deploy.yaml"
    manifest.write_text("# mine\n")
    proc = kedro_gitops("migrate", "--all", "--env", "base", cwd=project)
    assert proc.returncode == INVALID
    assert "pipelines.deploy.yaml exists; --force replaces it" in proc.stderr
    assert manifest.read_text() == "# mine\n"
    assert not (project / "dags").exists()
    forced = kedro_gitops("migrate", "--all", "--env", "base", "--force", cwd=project)
    # --all converts __default__ as well; with a task per node (no --group-by), base's
    # in-memory datasets cross tasks: the compile says so, and the manifest written stays.
    assert forced.returncode == INVALID
    assert "replaced pipelines.deploy.yaml" in forced.stderr
    assert "error[memory-crossing]" in forced.stderr
    assert "note: --all converts `__default__` too" in forced.stderr
    assert "the files written above stay" in forced.stderr
    data = yaml.safe_load(manifest.read_text())
    assert [d["pipeline"] for d in data["dags"]] == [
        "__default__",
        "data_processing",
        "data_science",
    ]


def test_exit_codes_of_bad_input(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = kedro_gitops("migrate", cwd=outside)
    assert proc.returncode == INVALID
    assert "error[not-a-kedro-project]" in proc.stderr
    both = kedro_gitops("migrate", "--all", "--pipelines", "data_science", cwd=project)
    assert both.returncode == INVALID
    assert "not allowed with argument" in both.stderr
    (project / "conf" / "base" / "airflow.yml").write_text("default: [unclosed\n")
    broken = kedro_gitops("migrate", cwd=project)
    assert broken.returncode == INVALID
    assert "conf/base/airflow.yml:2:1: error[airflow-config]" in broken.stderr
    assert not (project / "pipelines.deploy.yaml").exists()


@pytest.mark.parametrize(
    ("minutes", "expected"), [(5, "5m"), (90, "1h30m"), (0.5, "30s"), (0, "0s"), (1440, "1d")]
)
def test_retry_delay_minutes_become_a_duration(minutes: float, expected: str) -> None:
    assert duration(minutes) == expected


@pytest.mark.parametrize("minutes", [-1, "5", True, 366 * 24 * 60])
def test_a_retry_delay_without_equivalent_is_refused(minutes: object) -> None:
    with pytest.raises(ValueError, match=r"minutes|365 days"):
        duration(minutes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([2023, 1, 1], "2023-01-01"),
        ([2023, 1, 1, 6, 30], "2023-01-01T06:30"),
        ([2023, 1, 1, 6, 30, 15], "2023-01-01T06:30:15"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_start_dates(value: object, expected: str) -> None:
    assert start_date(value) == expected


@pytest.mark.parametrize("value", [[2023, 2, 30], [1960, 1, 1], "tomorrow", 20230101])
def test_a_start_date_without_equivalent_is_refused(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # each has its own message
        start_date(value)
