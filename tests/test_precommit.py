"""The hook for real: `pre-commit` installs kedro-gitops from a repository into its own isolated
environment, and `git commit` in a Kedro repository runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import BIN, ROOT, copy_example, kedro_gitops, run
from gitrepo import git, git_env, init_repo

SOURCES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "compiler", "schema")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """kedro-gitops as a hook repository at one commit (what `repo:` and `rev:` name)."""
    repo = tmp_path_factory.mktemp("kedro-gitops-hooks")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, repo / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(source, repo / name)
    return repo, init_repo(repo)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def make_user_repo(path: Path, hook_repo: tuple[Path, str], hook_id: str) -> Path:
    """A Kedro repository with committed DAGs, the hook installed, its .venv holding Kedro."""
    copy_example(path)
    (path / ".venv").symlink_to(ROOT / ".venv")  # found by interpreter discovery
    (path / ".gitignore").write_text(".venv\n")
    url, rev = hook_repo
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {url}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n"
    )
    assert kedro_gitops("compile", cwd=path).returncode == 0
    init_repo(path)
    return path


def commit(repo: Path, home: Path, message: str) -> tuple[bool, str]:
    env = git_env({"PRE_COMMIT_HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin"})
    before = git(repo, "rev-parse", "HEAD").strip()
    out = git(repo, "commit", "-m", message, check=False, env=env)
    return git(repo, "rev-parse", "HEAD").strip() != before, out


def install(repo: Path, home: Path) -> None:
    env = git_env({"PRE_COMMIT_HOME": str(home)})
    done = run([str(BIN / "pre-commit"), "install"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hook_regenerates_dags_and_stops_the_commit_until_they_are_staged(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = make_user_repo(tmp_path / "repo", hook_repo, "kedro-gitops")
    install(repo, pre_commit_home)
    manifest = repo / "pipelines.deploy.yaml"
    manifest.write_text(manifest.read_text().replace('"0 3 * * *"', '"30 4 * * *"'))
    git(repo, "add", "pipelines.deploy.yaml")

    landed, out = commit(repo, pre_commit_home, "run later")
    assert not landed, out
    assert "kedro-gitops (regenerate Airflow DAGs)" in out
    assert "Failed" in out
    assert "updated dags/data_processing_base.py" in out
    assert "then `git add dags` and commit again" in out
    assert 'schedule="30 4 * * *"' in (repo / "dags/data_processing_base.py").read_text()

    git(repo, "add", "dags")
    landed, out = commit(repo, pre_commit_home, "run later")
    assert landed, out
    assert "Passed" in out
    assert kedro_gitops("check", cwd=repo).returncode == 0


def test_a_new_dag_file_also_stops_the_commit(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = make_user_repo(tmp_path / "repo", hook_repo, "kedro-gitops")
    install(repo, pre_commit_home)
    manifest = repo / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace("environments: [prod]", "environments: [base, prod]")
    )
    git(repo, "add", "pipelines.deploy.yaml")
    landed, out = commit(repo, pre_commit_home, "science in base too")
    assert not landed, out
    assert "created dags/data_science_base.py" in out
    git(repo, "add", "dags")
    landed, out = commit(repo, pre_commit_home, "science in base too")
    assert landed, out


def test_an_unrelated_change_does_not_run_the_compile(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = make_user_repo(tmp_path / "repo", hook_repo, "kedro-gitops")
    install(repo, pre_commit_home)
    (repo / "NOTES.md").write_text("nothing to do with pipelines\n")
    git(repo, "add", "NOTES.md")
    landed, out = commit(repo, pre_commit_home, "notes")
    assert landed, out
    assert "(no files to check)Skipped" in out


def test_check_hook_fails_without_writing(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = make_user_repo(tmp_path / "repo", hook_repo, "kedro-gitops-check")
    install(repo, pre_commit_home)
    before = (repo / "dags/data_processing_base.py").read_text()
    manifest = repo / "pipelines.deploy.yaml"
    manifest.write_text(manifest.read_text().replace("retries: 2", "retries: 4"))
    git(repo, "add", "pipelines.deploy.yaml")
    landed, out = commit(repo, pre_commit_home, "more retries")
    assert not landed, out
    assert '+        "retries": 4,' in out
    assert (repo / "dags/data_processing_base.py").read_text() == before
