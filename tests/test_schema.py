"""The JSON Schema is the contract: checked by check-jsonschema, the tool editors and hooks use."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BIN, CASES, ROOT, run

SCHEMA = ROOT / "schema" / "deploy.schema.json"
# cases that break the schema on purpose
SCHEMA_INVALID = ("schema_errors", "collect_phases", "params_errors")
VALID = [ROOT / "pipelines.deploy.yaml"] + [
    p / "pipelines.deploy.yaml" for p in sorted(CASES.iterdir()) if p.name not in SCHEMA_INVALID
]


def check_jsonschema(*args: str) -> tuple[int, str]:
    proc = run([str(BIN / "check-jsonschema"), "--no-cache", *args], ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_schema_is_valid_draft_2020_12() -> None:
    code, out = check_jsonschema("--check-metaschema", str(SCHEMA))
    assert code == 0, out


@pytest.mark.parametrize("manifest", VALID, ids=lambda p: p.parent.name)
def test_manifests_that_pass_the_compiler_schema_pass_check_jsonschema(manifest: Path) -> None:
    code, out = check_jsonschema("--schemafile", str(SCHEMA), str(manifest))
    assert code == 0, out


@pytest.mark.parametrize(
    ("case", "shown"), [("schema_errors", "pyhton"), ("collect_phases", "many")]
)
def test_invalid_manifest_fails_check_jsonschema_too(case: str, shown: str) -> None:
    code, out = check_jsonschema(
        "--schemafile", str(SCHEMA), str(CASES / case / "pipelines.deploy.yaml")
    )
    assert code == 1
    assert shown in out


def test_the_schema_file_is_what_build_schema_writes() -> None:
    proc = run(
        [
            str(BIN / "python"),
            "-c",
            "import build_schema, sys; sys.stdout.write(build_schema.render())",
        ],
        ROOT / "schema",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SCHEMA.read_text(), "run `python schema/build_schema.py`"
