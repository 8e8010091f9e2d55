"""`kedro-gitops init` as a user runs it: in the example project, in a fresh `kedro new` project,
and on the files it must add to without clobbering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from kedro_gitops.build import load_manifest
from kedro_gitops.cli import INVALID, OK
from kedro_gitops.starter import add_hook, github_workflow

from conftest import BIN, ROOT, copy_example, kedro_gitops, run
from gitrepo import init_repo

PROBE = ROOT / "tests" / "airflow_probe.py"
WRITTEN = ("pipelines.deploy.yaml", ".pre-commit-config.yaml", ".github/workflows/kedro-gitops.yml")


def files(top: Path, project: Path) -> dict[str, bytes]:
    return {
        "pipelines.deploy.yaml": (project / "pipelines.deploy.yaml").read_bytes(),
        ".pre-commit-config.yaml": (top / ".pre-commit-config.yaml").read_bytes(),
        ".github/workflows/kedro-gitops.yml": (
            top / ".github/workflows/kedro-gitops.yml"
        ).read_bytes(),
    }


def test_init_in_a_project_of_a_repository_from_a_subfolder(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    (repo / "pipelines.deploy.yaml").unlink()
    init_repo(repo)
    project = repo / "examples" / "spaceflights"
    proc = kedro_gitops("init", cwd=project / "src")
    assert proc.returncode == OK, proc.stderr
    assert "wrote ../pipelines.deploy.yaml" in proc.stderr
    assert "wrote ../../../.pre-commit-config.yaml" in proc.stderr
    assert "wrote ../../../.github/workflows/kedro-gitops.yml" in proc.stderr
    assert "created dags/data_processing_base.py" in proc.stderr

    text = (project / "pipelines.deploy.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=https://kedro-gitops.dev/schema/")
    data = yaml.safe_load(text)
    assert data["project"] == {"path": "."}
    assert "executors" not in data  # the built-in subprocess executor, the worker's interpreter
    assert data["environments"] == {"base": {"kedro_env": "base"}, "prod": {"kedro_env": "prod"}}
    assert [d["pipeline"] for d in data["dags"]] == ["data_processing", "data_science"]
    assert all(d["schedule"] is None for d in data["dags"])
    # preprocessed_shuttles is in memory in base, X_train and the others in both environments
    assert [d.get("groups") for d in data["dags"]] == [[{"by": "memory"}]] * 2
    assert "# In memory in base: preprocessed_shuttles." in text
    assert "`local` is left out" in text
    assert len(load_manifest(project / "pipelines.deploy.yaml").dags) == 2
    assert sorted(p.name for p in (project / "dags").glob("*.py")) == [
        "data_processing_base.py",
        "data_processing_prod.py",
        "data_science_base.py",
        "data_science_prod.py",
    ]
    assert kedro_gitops("validate", cwd=project).returncode == OK

    # The hook and the CI job sit at the repository's root and name the project's manifest.
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"]
    hook = hooks[0]["hooks"][0]
    manifest = "examples/spaceflights/pipelines.deploy.yaml"
    assert hook["entry"] == f"kedro-gitops compile --exit-non-zero-on-change --manifest {manifest}"
    assert re.search(hook["files"], "examples/spaceflights/conf/prod/catalog.yml")
    assert re.search(hook["files"], manifest)
    assert not re.search(hook["files"], "README.md")
    checked = run([str(BIN / "pre-commit"), "validate-config"], repo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    workflow = (repo / ".github/workflows/kedro-gitops.yml").read_text()
    assert f"kedro-gitops check --manifest {manifest}" in workflow
    assert f"kedro-gitops plan --manifest {manifest} --against" in workflow

    # Run again: every file is kept, and said so.
    before = files(repo, project)
    again = kedro_gitops("init", cwd=project)
    assert again.returncode == OK, again.stderr
    assert "kept pipelines.deploy.yaml (it exists; --force replaces it)" in again.stderr
    assert "kept ../../.pre-commit-config.yaml (it already runs kedro-gitops)" in again.stderr
    assert "kept ../../.github/workflows/kedro-gitops.yml (it exists" in again.stderr
    assert "0 changed" in again.stderr
    assert files(repo, project) == before


def test_init_outside_a_kedro_project_writes_nothing(tmp_path: Path) -> None:
    proc = kedro_gitops("init", cwd=tmp_path)
    assert proc.returncode == INVALID
    assert "error[not-a-kedro-project]" in proc.stderr
    assert list(tmp_path.iterdir()) == []


HELLO_PIPELINE = '''\
"""Two nodes joined by an in-memory dataset."""

from kedro.pipeline import Pipeline, node


def greet(name: str) -> str:
    return f"hello {name}"


def shout(text: str) -> str:
    return text.upper()


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(greet, "params:name", "greeting", name="greet"),
            node(shout, "greeting", "loud_greeting", name="shout"),
        ]
    )
'''


def test_kedro_new_then_init_then_compile_loads_in_airflow(
    tmp_path: Path, airflow_env: dict[str, str]
) -> None:
    new = [str(BIN / "kedro"), "new", "--name", "demo", "--tools", "none", "--example", "n"]
    made = run(new, tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    project = tmp_path / "demo"
    empty = kedro_gitops("init", cwd=project / "conf")
    assert empty.returncode == INVALID
    assert "the project has no pipeline with nodes yet" in empty.stderr
    assert sorted(p.name for p in project.iterdir()) == sorted(
        [
            ".gitignore",
            "README.md",
            "conf",
            "notebooks",
            "pyproject.toml",
            "requirements.txt",
            "src",
        ]
    )
    hello = project / "src" / "demo" / "pipelines" / "hello"
    hello.mkdir(parents=True)
    (hello / "__init__.py").write_text("from .pipeline import create_pipeline\n")
    (hello / "pipeline.py").write_text(HELLO_PIPELINE)
    (project / "conf" / "base" / "parameters.yml").write_text("name: world\n")

    proc = run([str(BIN / "kedro"), "gitops", "init"], project)  # the Kedro plugin command
    assert proc.returncode == OK, proc.stdout + proc.stderr
    data = yaml.safe_load((project / "pipelines.deploy.yaml").read_text())
    assert data["environments"] == {"base": {"kedro_env": "base"}}  # conf/local left out
    assert data["dags"] == [{"pipeline": "hello", "schedule": None, "groups": [{"by": "memory"}]}]
    assert (project / ".pre-commit-config.yaml").is_file()

    compiled = kedro_gitops("compile", cwd=project)
    assert compiled.returncode == OK, compiled.stderr
    assert "1 DAG file(s) in dags/, 0 changed" in compiled.stderr
    plan = kedro_gitops("plan", "--format", "json", cwd=project)
    tasks = json.loads(plan.stdout)["dags"][0]["tasks"]
    assert tasks == [
        {"task_id": "greet_group", "nodes": ["greet", "shout"], "rule": "groups[0] memory"}
    ]

    seen = run([str(BIN / "python"), str(PROBE), str(project / "dags")], project, airflow_env)
    assert seen.returncode == 0, seen.stderr
    loaded = json.loads(seen.stdout.strip().splitlines()[-1])
    assert loaded["import_errors"] == {}
    assert loaded["dags"]["hello_base"]["tasks"] == ["greet_group"]
    assert loaded["kedro_imported"] is False


RUFF = """\
# my hooks
repos:
  # formatting
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.17.5
    hooks:
      - id: ruff-format
"""


def test_the_hook_is_added_to_an_existing_config_and_nothing_else_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(RUFF)
    add_hook(config, "")
    assert "added the kedro-gitops hook" in capsys.readouterr().err
    text = config.read_text()
    assert text.startswith(RUFF)
    repos = yaml.safe_load(text)["repos"]
    assert [r["repo"] for r in repos] == ["https://github.com/astral-sh/ruff-pre-commit", "local"]
    assert repos[1]["hooks"][0]["entry"] == "kedro-gitops compile --exit-non-zero-on-change"
    add_hook(config, "")
    assert "kept .pre-commit-config.yaml (it already runs kedro-gitops)" in capsys.readouterr().err
    assert config.read_text() == text


@pytest.mark.parametrize(
    "existing",
    [
        "repos: []\n",  # a flow-style list: no block to append to
        RUFF + "default_stages: [pre-commit]\n",  # `repos` is not the last key
        "repos: [\n",  # not YAML
    ],
)
def test_a_config_that_cannot_take_the_hook_safely_is_left_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    existing: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(existing)
    add_hook(config, "project/")
    err = capsys.readouterr().err
    assert "kept .pre-commit-config.yaml (could not add the hook safely)" in err
    assert "--manifest project/pipelines.deploy.yaml" in err
    assert config.read_text() == existing


def test_an_empty_config_gets_the_hook(tmp_path: Path) -> None:
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text("# nothing yet\n")
    add_hook(config, "")
    assert yaml.safe_load(config.read_text())["repos"][0]["repo"] == "local"


def test_the_ci_job_is_the_documented_one(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("kedro\n")
    documented = (ROOT / "docs" / "ci" / "github-actions.yml").read_text().splitlines()
    written = github_workflow("", tmp_path).splitlines()
    assert written[0] == (
        "# .github/workflows/kedro-gitops.yml: fail a pull request whose dags/ is stale, and "
        "comment the DAG changes."
    )
    assert written[1:] == documented[1:]
    nested = github_workflow("deploy/demo/", tmp_path)
    assert "pip install -r deploy/demo/requirements.txt" in nested
    bare = tmp_path / "bare"
    bare.mkdir()
    assert 'pip install ./deploy/demo "kedro-gitops' in github_workflow("deploy/demo/", bare)


def test_a_gitlab_repository_gets_no_github_job(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "repo") / "examples" / "spaceflights"
    (project / ".gitlab-ci.yml").write_text("stages: [test]\n")
    proc = kedro_gitops("init", cwd=project)
    assert proc.returncode == OK, proc.stderr
    assert "skipped .github/workflows/kedro-gitops.yml: the repository uses GitLab CI" in (
        proc.stderr
    )
    assert not (project / ".github").exists()
    assert {p for p in WRITTEN if (project / p).exists()} == set(WRITTEN[:2])
