"""Whose files a compile may touch, what its header can hold, and what `check` sees of the output
folder as Airflow would load it: regression cases on the real CLI and a real git repository."""

from __future__ import annotations

import tokenize
import zipfile
from pathlib import Path

from kedro_gitops.cli import INVALID, OK, OUT_OF_SYNC

from conftest import kedro_gitops
from gitrepo import git, init_repo

TEAM = """\
version: 1
project: {{path: ../examples/spaceflights}}
output: ../dags
environments:
  base: {{kedro_env: base}}
dags:
  - pipeline: data_processing
    dag_id: "{name}_{{environment}}"
    groups: [{{by: memory}}]
"""


def dag_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))}


def test_manifests_with_the_same_file_name_share_dags(checkout: Path) -> None:
    """Ownership is the manifest's whole path in the repository: `a/pipelines.deploy.yaml` and
    `b/pipelines.deploy.yaml` (and `deploy` beside `deploy.yaml`) never remove each other's
    files."""
    for folder, name in (("a", "pipelines.deploy.yaml"), ("b", "pipelines.deploy.yaml")):
        (checkout / folder).mkdir()
        (checkout / folder / name).write_text(TEAM.format(name=f"team_{folder}"))
    (checkout / "a" / "deploy").write_text(TEAM.format(name="short"))
    (checkout / "a" / "deploy.yaml").write_text(TEAM.format(name="long"))
    init_repo(checkout)
    manifests = ("a/pipelines.deploy.yaml", "b/pipelines.deploy.yaml", "a/deploy", "a/deploy.yaml")
    for manifest in manifests:
        proc = kedro_gitops("compile", "--manifest", manifest, cwd=checkout)
        assert proc.returncode == OK, proc.stderr
    names = {"team_a_base.py", "team_b_base.py", "short_base.py", "long_base.py"}
    assert set(dag_files(checkout / "dags")) == names
    header = (checkout / "dags" / "short_base.py").read_text().splitlines()[2]
    assert header == "# kedro-gitops manifest: a/deploy"
    for manifest in manifests:  # each compile again, and each check: nobody's files moved
        assert kedro_gitops("compile", "--manifest", manifest, cwd=checkout).returncode == OK
    assert set(dag_files(checkout / "dags")) == names
    for manifest in manifests:
        assert kedro_gitops("check", "--manifest", manifest, cwd=checkout).returncode in (
            OK,
            OUT_OF_SYNC,  # untracked until committed
        )


def test_an_edited_or_hand_written_copy_is_never_removed_silently(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    dags = checkout / "dags"
    generated = (dags / "data_science_prod.py").read_text()
    (dags / "my_variant.py").write_text(generated.replace("max_active_runs=1", "max_active_runs=2"))
    (dags / "data_processing_base.py").write_text(generated + "# tweak\n")
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == OK, proc.stderr
    assert "kept dags/my_variant.py" in proc.stderr
    assert "updated dags/data_processing_base.py (it differed" in proc.stderr
    assert (dags / "my_variant.py").exists()
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == OUT_OF_SYNC
    assert "my_variant.py (orphaned)" in proc.stderr
    # An unedited copy of a generated file is regenerated content: removed, and said so.
    (dags / "my_variant.py").write_bytes((dags / "data_science_prod.py").read_bytes())
    proc = kedro_gitops("compile", cwd=checkout)
    assert "removed dags/my_variant.py" in proc.stderr
    assert not (dags / "my_variant.py").exists()


def test_the_manifest_path_cannot_change_how_python_reads_a_file(checkout: Path) -> None:
    weird = checkout / "coding:unicode_escape.yaml"
    weird.write_text((checkout / "pipelines.deploy.yaml").read_text())
    assert kedro_gitops("compile", "--manifest", weird.name, cwd=checkout).returncode == OK
    for path in (checkout / "dags").glob("*.py"):
        with path.open("rb") as f:
            assert tokenize.detect_encoding(f.readline)[0] == "utf-8"
        compile(path.read_bytes(), str(path), "exec")
    broken = checkout / "new\nline.yaml"
    broken.write_text((checkout / "pipelines.deploy.yaml").read_text())
    proc = kedro_gitops("compile", "--manifest", broken.name, cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[manifest-name]" in proc.stderr


def test_check_sees_copies_and_ignored_files_as_airflow_would(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    init_repo(checkout)
    assert kedro_gitops("check", cwd=checkout).returncode == OK
    dags = checkout / "dags"
    (dags / "old").mkdir()
    (dags / "old" / "copy.py").write_bytes((dags / "data_science_prod.py").read_bytes())
    with zipfile.ZipFile(dags / "bundle.zip", "w") as archive:
        archive.write(dags / "data_processing_base.py", "data_processing_base.py")
    (dags / ".airflowignore").write_text("data_proc*\n!data_processing_prod.py\n")
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == OUT_OF_SYNC
    for expected in (
        "old/copy.py (a copy of a generated DAG: Airflow loads it too)",
        "bundle.zip:data_processing_base.py (a copy",
        "data_processing_base.py (hidden from Airflow by dags/.airflowignore)",
    ):
        assert expected in proc.stderr
    assert "data_processing_prod.py (hidden" not in proc.stderr
    (dags / "old" / "copy.py").unlink()
    (dags / "bundle.zip").unlink()
    (checkout / ".airflowignore").write_text("dags/\n")  # Airflow reading the repository root
    (dags / ".airflowignore").unlink()
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == OUT_OF_SYNC
    assert "data_science_prod.py (hidden from Airflow by .airflowignore)" in proc.stderr


def test_output_folders_git_cannot_deliver_are_diagnostics(checkout: Path) -> None:
    init_repo(checkout)
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    assert "output: dags" in text
    manifest.write_text(text.replace("output: dags", "output: .."))
    for command in (["compile"], ["check"], ["plan", "--against", "HEAD"]):
        proc = kedro_gitops(*command, cwd=checkout)
        assert proc.returncode == INVALID, (command, proc.stderr)
        assert "error[output-outside-repository]" in proc.stderr
    (checkout / "notes").write_text("a file\n")
    manifest.write_text(text.replace("output: dags", "output: notes"))
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[output-not-a-directory]" in proc.stderr
    assert (checkout / "notes").read_text() == "a file\n"


def test_a_symlinked_output_folder_and_undecodable_files(checkout: Path) -> None:
    (checkout / "build" / "dags").mkdir(parents=True)
    (checkout / "dags").symlink_to("build/dags")
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    assert (checkout / "dags").is_symlink()
    init_repo(checkout)
    assert kedro_gitops("check", cwd=checkout).returncode == OK
    target = checkout / "build" / "dags" / "data_science_prod.py"
    target.write_bytes(target.read_bytes() + b"# \xff\xfe not UTF-8\n")
    git(checkout, "commit", "-qam", "an undecodable byte")
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == OUT_OF_SYNC
    assert "data_science_prod.py (changed)" in proc.stderr
    assert kedro_gitops("plan", "--against", "HEAD", cwd=checkout).returncode == OK
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    assert b"\xff" not in target.read_bytes()


def test_files_of_kedro_gitops_0_1_are_replaced_but_never_removed(checkout: Path) -> None:
    legacy = (
        "# Generated by kedro-gitops from pipelines.deploy.yaml. Do not edit: changes are "
        "overwritten.\n# Regenerate with: kedro-gitops compile --manifest pipelines.deploy.yaml\n"
    )
    dags = checkout / "dags"
    dags.mkdir()
    (dags / "data_science_prod.py").write_text(legacy + "OLD = 1\n")
    (dags / "renamed_since.py").write_text(legacy + "OLD = 2\n")
    (dags / "other.py").write_text(legacy.replace("pipelines.deploy", "other.deploy"))
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == OK, proc.stderr
    assert "updated dags/data_science_prod.py" in proc.stderr
    assert "kept dags/renamed_since.py" in proc.stderr
    assert "OLD" not in (dags / "data_science_prod.py").read_text()
    assert (dags / "renamed_since.py").read_text().endswith("OLD = 2\n")
    assert (dags / "other.py").read_text() == legacy.replace("pipelines.deploy", "other.deploy")
