"""The command line on a real checkout: exit codes, check/diff, safety of dags/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kedro_gitops.cli import INVALID, OK, OUT_OF_SYNC

from conftest import BIN, ROOT, kedro_gitops, run
from gitrepo import init_repo


def snapshot_dir(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.glob("*.py"))} if path.exists() else {}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_compile_writes_what_is_committed(checkout: Path) -> None:
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == OK, proc.stderr
    assert snapshot_dir(checkout / "dags") == snapshot_dir(ROOT / "dags")
    again = kedro_gitops("compile", cwd=checkout)
    assert again.returncode == OK
    assert "0 changed" in again.stderr


def test_check_reports_changed_missing_and_orphaned_files(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    assert kedro_gitops("check", cwd=checkout).returncode == OK
    dags = checkout / "dags"
    edited = dags / "data_processing_base.py"
    edited.write_text(edited.read_text().replace("retries", "retries_edited"))
    (dags / "data_science_prod.py").unlink()
    shutil.copy(dags / "data_processing_prod.py", dags / "old_pipeline_prod.py")
    before = snapshot_dir(dags)
    proc = kedro_gitops("check", cwd=checkout)
    assert proc.returncode == OUT_OF_SYNC
    assert "data_processing_base.py (changed)" in proc.stderr
    assert "data_science_prod.py (missing)" in proc.stderr
    assert "old_pipeline_prod.py (orphaned)" in proc.stderr
    assert '-        "retries_edited": 2,' in proc.stdout
    assert "+++ b/dags/data_science_prod.py" in proc.stdout
    assert snapshot_dir(dags) == before, "check writes nothing"
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    assert not (dags / "old_pipeline_prod.py").exists()
    assert kedro_gitops("check", cwd=checkout).returncode == OK


def test_files_not_generated_by_us_are_never_touched(checkout: Path) -> None:
    dags = checkout / "dags"
    dags.mkdir()
    (dags / "hand_written.py").write_text("# my own DAG\n")
    (dags / "data_processing_base.py").write_text("# someone else's file\n")
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[foreign-file]" in proc.stderr
    assert snapshot_dir(dags) == {
        "data_processing_base.py": b"# someone else's file\n",
        "hand_written.py": b"# my own DAG\n",
    }
    (dags / "data_processing_base.py").unlink()
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    assert (dags / "hand_written.py").read_text() == "# my own DAG\n"
    assert kedro_gitops("check", cwd=checkout).returncode == OK


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("pipeline: data_science", "pipeline: data_sciense"),
            "pipelines.deploy.yaml:{line}:15: error[unknown-pipeline]: "
            "unknown pipeline `data_sciense`",
        ),
        (('schedule: "0 3 * * *"', 'schedule: "0 3 * *"'), "error[invalid-schedule]"),
        (("  retries: 2", "  retries: 2\n  retries: 3"), "error[duplicate-key]"),
        (
            ("    groups:\n      - by: memory", "    groups:\n      - by: memroy"),
            "hint: did you mean `memory`?",
        ),
        (("version: 1", "version: [1"), "error[yaml-syntax]"),
    ],
)
def test_bad_input_exits_2_and_leaves_dags_untouched(
    checkout: Path, edit: tuple[str, str], expected: str
) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    before = snapshot_dir(checkout / "dags")
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    assert edit[0] in text
    expected = expected.format(line=line_of(text, edit[0]))
    manifest.write_text(text.replace(edit[0], edit[1], 1))
    for command in ("compile", "check", "validate", "plan"):
        proc = kedro_gitops(command, cwd=checkout)
        assert proc.returncode == INVALID, (command, proc.stderr)
        assert expected in proc.stderr
    assert snapshot_dir(checkout / "dags") == before


def test_json_diagnostics(checkout: Path) -> None:
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("environments: [prod]", "environments: [prd]"))
    proc = kedro_gitops("validate", "--format", "json", cwd=checkout)
    assert proc.returncode == INVALID
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert diagnostic["code"] == "unknown-environment"
    assert diagnostic["hint"] == "did you mean `prod`?"
    line = line_of(text, "environments: [prod]")
    assert diagnostic["location"] == {"file": "pipelines.deploy.yaml", "line": line, "col": 20}


def test_validate_and_plan(checkout: Path) -> None:
    proc = kedro_gitops("validate", cwd=checkout)
    assert proc.returncode == OK
    assert "valid, 3 DAG(s)" in proc.stderr
    assert not (checkout / "dags").exists()
    plan = kedro_gitops("plan", cwd=checkout)
    assert plan.returncode == OK
    assert (
        "preprocess_shuttles_node_group  [groups[0] memory]  preprocess_shuttles_node, "
        "create_model_input_table_node" in plan.stdout
    )
    data = json.loads(kedro_gitops("plan", "--format", "json", cwd=checkout).stdout)
    assert [d["dag_id"] for d in data["dags"]] == [
        "data_processing_base",
        "data_processing_prod",
        "data_science_prod",
    ]


def test_manifest_option_and_missing_manifest(checkout: Path, tmp_path: Path) -> None:
    proc = kedro_gitops(
        "validate", "--manifest", str(checkout / "pipelines.deploy.yaml"), cwd=tmp_path
    )
    assert proc.returncode == OK, proc.stderr
    missing = kedro_gitops("validate", cwd=tmp_path)
    assert missing.returncode == INVALID
    assert "error[manifest-not-found]" in missing.stderr


def test_kedro_plugin_runs_inside_the_project(checkout: Path) -> None:
    project = checkout / "examples/spaceflights"
    proc = run(
        [
            str(Path(ROOT / ".venv/bin/python")),
            "-m",
            "kedro",
            "gitops",
            "validate",
            "--manifest",
            "../../pipelines.deploy.yaml",
        ],
        project,
    )
    assert proc.returncode == OK, proc.stdout + proc.stderr
    assert "valid, 3 DAG(s)" in proc.stderr


def test_commands_find_the_manifest_from_any_folder_of_the_project(checkout: Path) -> None:
    deep = checkout / "examples/spaceflights/src/spaceflights"
    proc = kedro_gitops("validate", cwd=deep)
    assert proc.returncode == OK, proc.stderr
    assert "valid, 3 DAG(s)" in proc.stderr
    proc = run(
        [str(BIN / "python"), "-m", "kedro", "gitops", "--help"],
        checkout / "examples/spaceflights",
    )
    assert "usage: kedro gitops" in proc.stdout


@pytest.mark.parametrize("command", ["compile", "check", "validate", "plan"])
def test_help_lists_options_exit_codes_and_an_example(command: str, tmp_path: Path) -> None:
    proc = kedro_gitops(command, "--help", cwd=tmp_path)
    assert proc.returncode == OK
    assert "exit codes:" in proc.stdout
    assert "2 invalid manifest or project" in proc.stdout
    assert f"example:\n  kedro-gitops {command}" in proc.stdout
    assert ("markdown" in proc.stdout) == (command == "plan")


NIGHTLY = """\
version: 1
project: {path: examples/spaceflights}
environments:
  base: {kedro_env: base}
dags:
  - pipeline: data_processing
    dag_id: "nightly_{environment}"
    groups: [{by: memory}]
"""


def test_two_manifests_share_an_output_folder_without_touching_each_other(
    checkout: Path,
) -> None:
    other = checkout / "nightly.deploy.yaml"
    other.write_text(NIGHTLY)
    assert kedro_gitops("compile", "--manifest", str(other), cwd=checkout).returncode == OK
    assert kedro_gitops("compile", cwd=checkout).returncode == OK
    files = {p.name for p in (checkout / "dags").glob("*.py")}
    assert files == {"nightly_base.py", *(p.name for p in (ROOT / "dags").glob("*.py"))}
    assert kedro_gitops("check", cwd=checkout).returncode == OK
    assert kedro_gitops("check", "--manifest", str(other), cwd=checkout).returncode == OK
    # A file that the other manifest generated is not this manifest's to replace.
    other.write_text(NIGHTLY.replace("nightly_{environment}", "{pipeline}_{environment}"))
    proc = kedro_gitops("compile", "--manifest", str(other), cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[foreign-file]: dags/data_processing_base.py exists" in proc.stderr
    assert "was not generated from" in proc.stderr


def test_what_a_checkout_on_the_worker_lacks_is_found_at_compile_time(checkout: Path) -> None:
    """Kedro's own template git-ignores `.venv/` and `data/`: an interpreter there is an error
    (exit 127 on the worker otherwise), and an input there a warning."""
    project = checkout / "examples/spaceflights"
    (project / ".gitignore").write_text(".venv/\ndata/\n")
    (project / ".venv/bin").mkdir(parents=True)
    (project / ".venv/bin/python").symlink_to(BIN / "python")
    init_repo(checkout)
    manifest = checkout / "pipelines.deploy.yaml"
    text = manifest.read_text()
    manifest.write_text(
        text.replace("type: subprocess ", "type: subprocess\n    python: .venv/bin/python\n    #")
    )
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[interpreter-not-committed]" in proc.stderr
    assert "interpreter `.venv/bin/python` is in a git-ignored folder" in proc.stderr
    assert not (checkout / "dags").exists()

    manifest.write_text(text)
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == OK, proc.stderr
    assert "warning[input-not-committed]: reads `companies`" in proc.stderr
    assert "(DAG data_processing_base; environment base)" in proc.stderr
