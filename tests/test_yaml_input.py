"""Hostile or broken YAML is a located diagnostic (exit 2), quickly and in bounded memory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from kedro_gitops.cli import INVALID, main
from kedro_gitops.diagnostics import CompileError, Diagnostic, Location, format_json, format_text
from kedro_gitops.manifest import parse_manifest
from kedro_gitops.source import load_yaml


def _nested(opening: str, closing: str, levels: int) -> str:
    return opening * levels + closing * levels


def _alias_bomb() -> str:
    """Seven levels of ten aliases each: 275 bytes that expand to ten million strings."""
    lines = [f"a: &a [{', '.join(['x'] * 10)}]"]
    for prev, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    return "\n".join(lines) + "\n"


ALIAS_BOMB = _alias_bomb()

CASES: list[tuple[str, bytes | str, str, int, int]] = [
    # (id, manifest, code, line, col)
    ("not-utf8", b"version: 1\nproject:\n  path: caf\xe9\n", "yaml-encoding", 3, 12),
    ("not-utf8-crlf", b"version: 1\r\n\r\nx: \xff\r\n", "yaml-encoding", 3, 4),
    ("raw-nul-in-comment", "version: 1\n# note\x00\n", "yaml-bad-character", 2, 7),
    ("raw-escape", "version: 1\nowner: a\x1bb\n", "yaml-bad-character", 2, 9),
    ("int-tag", "version: !!int two\n", "yaml-tag", 1, 10),
    ("binary-tag", "version: 1\nkey: !!binary aGVsbG8=\n", "yaml-type", 2, 6),
    ("python-tag", "version: !!python/object:os.system {}\n", "yaml-tag", 1, 10),
    ("python-name-tag", "version: !!python/name:os.system ''\n", "yaml-tag", 1, 10),
    ("local-tag", "version: !foo 1\n", "yaml-tag", 1, 10),
    ("bad-timestamp", "start: !!timestamp 2026-13-45\n", "yaml-tag", 1, 8),
    ("timestamp", "start: !!timestamp 2026-01-01\n", "yaml-type", 1, 8),
    ("garbled-timestamp", "start: !!timestamp soon\n", "yaml-tag", 1, 8),
    ("bool-tag", "catchup: !!bool maybe\n", "yaml-tag", 1, 10),
    ("set-tag", "tags: !!set {a, b}\n", "yaml-tag", 1, 7),
    ("omap-tag", "tags: !!omap [{a: 1}]\n", "yaml-tag", 1, 7),
    ("sequence-key", "? [a, b]\n: 1\n", "yaml-complex-key", 1, 3),
    ("mapping-key", "{a: 1}: 2\n", "yaml-complex-key", 1, 1),
    ("merge-scalar", "a: {<<: 5}\n", "yaml-merge", 1, 9),
    ("merge-scalars", "a: {<<: [1, 2]}\n", "yaml-merge", 1, 10),
    ("recursive-sequence", "a: &x [*x]\n", "yaml-recursive-alias", 1, 4),
    ("recursive-mapping", "a: &m {k: *m}\n", "yaml-recursive-alias", 1, 4),
    ("recursive-merge", "a: &m {<<: *m, k: 1}\n", "yaml-recursive-alias", 1, 4),
    ("alias-bomb", ALIAS_BOMB, "yaml-too-large", 1, 14),
    ("deep-sequences", f"a: {_nested('[', ']', 1000)}\n", "yaml-too-deep", 1, 103),
    (
        "deep-mappings",
        "".join("  " * i + f"k{i}:\n" for i in range(1000)),
        "yaml-too-deep",
        100,
        199,
    ),
    (
        "deep-through-aliases",
        f"a: &a {_nested('[', ']', 60)}\nb: {'[' * 60}*a{']' * 60}\n",
        "yaml-too-deep",
        1,
        46,  # a's 40th level, the 101st below the root through b
    ),
    ("long-int", f"version: {'1' * 5000}\n", "yaml-int-too-long", 1, 10),
    ("long-hex-int", f"version: 0x{'f' * 4000}\n", "yaml-int-too-long", 1, 10),
    ("long-sexagesimal-int", f"version: 1{':0' * 3000}\n", "yaml-int-too-long", 1, 10),
    ("inf", "retries: .inf\n", "yaml-non-finite", 1, 10),
    ("minus-inf", "x: [1, -.inf]\n", "yaml-non-finite", 1, 8),
    ("nan", "x: {y: .NaN}\n", "yaml-non-finite", 1, 8),
    ("overflowing-float", "x: 1.0e+999\n", "yaml-non-finite", 1, 4),
    ("nul-escape", 'owner: "a\\0b"\n', "yaml-bad-character", 1, 8),
    ("nul-hex-escape", 'owner: "a\\x00"\n', "yaml-bad-character", 1, 8),
    ("surrogate-escape", 'owner: "\\ud800"\n', "yaml-bad-character", 1, 8),
    ("surrogate-pair-escapes", 'owner: "\\ud83d\\ude00"\n', "yaml-bad-character", 1, 8),
    ("nul-in-key", 'env: {"A\\0": x}\n', "yaml-bad-character", 1, 7),
    ("surrogate-in-key", '"\\udfff": 1\n', "yaml-bad-character", 1, 1),
    ("two-documents", "version: 1\n---\nversion: 1\n", "yaml-multiple-documents", 2, 1),
    ("syntax", "version: [1\n", "yaml-syntax", 2, 1),
]


def validate_json(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]]]:
    code = main(["validate", "--format", "json", "--manifest", str(path)])
    return code, json.loads(capsys.readouterr().out)["diagnostics"]


@pytest.mark.parametrize(
    ("text", "code", "where"), [(c[1], c[2], c[3:]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_yaml_is_a_located_diagnostic(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: bytes | str,
    code: str,
    where: tuple[int, int],
) -> None:
    manifest = tmp_path / "pipelines.deploy.yaml"
    manifest.write_bytes(text if isinstance(text, bytes) else text.encode())
    start = time.perf_counter()
    exit_code, diagnostics = validate_json(manifest, capsys)
    elapsed = time.perf_counter() - start
    assert exit_code == INVALID
    first = diagnostics[0]
    assert (first["code"], first["severity"]) == (code, "error"), diagnostics
    assert first["location"] == {"file": str(manifest), "line": where[0], "col": where[1]}
    if code == "yaml-too-large":  # expanding the alias bomb would take 20 s and 3 GB
        assert elapsed < 1.0, f"{elapsed:.2f}s"


def test_every_bad_value_is_reported_once() -> None:
    text = 'a: &a [.inf, "\\0"]\nb: [*a, *a, !!binary AA==]\n'
    with pytest.raises(CompileError) as caught:
        load_yaml(text, "m.yaml")
    found = [(d.code, d.location.line, d.location.col) for d in caught.value.diagnostics]
    assert found == [
        ("yaml-non-finite", 1, 8),
        ("yaml-bad-character", 1, 14),
        ("yaml-type", 2, 13),
    ]


def test_anchors_and_merge_keys_still_load() -> None:
    text = """\
version: 1
project:
  path: examples/spaceflights
defaults: &defaults
  owner: data-platform
  retries: 2
  tags: [spaceflights]
environments:
  base: &base
    kedro_env: base
    env: {SPACEFLIGHTS_DATA: /tmp/base}
  prod:
    <<: *base
    kedro_env: prod
    env: {SPACEFLIGHTS_DATA: /tmp/prod}
executors:
  local: {type: subprocess}
dags:
  - &processing
    pipeline: data_processing
    environments: [base, prod]
    schedule: "0 3 * * *"
  - <<: [{executor: local, schedule: "@daily"}, *processing]
    pipeline: data_science
    environments: [prod]
"""
    data, smap = load_yaml(text, "m.yaml")
    assert data["environments"]["prod"] == {
        "kedro_env": "prod",
        "env": {"SPACEFLIGHTS_DATA": "/tmp/prod"},
    }
    assert data["dags"][1] == {
        "executor": "local",
        "schedule": "@daily",
        "pipeline": "data_science",
        "environments": ["prod"],
    }
    assert list(data["environments"]["prod"]) == ["kedro_env", "env"]  # PyYAML's key order
    assert smap.at(("dags", 1, "schedule")) == Location("m.yaml", 23, 38)
    assert smap.at(("environments", "prod", "kedro_env")) == Location("m.yaml", 14, 16)
    manifest = parse_manifest(text, "m.yaml")
    assert [d.pipeline for d in manifest.dags] == ["data_processing", "data_science"]


def test_duplicate_keys_are_still_an_error_next_to_merge_keys() -> None:
    with pytest.raises(CompileError) as caught:
        load_yaml("d: &d {a: 1}\nx: {<<: *d, b: 1, b: 2}\n", "m.yaml")
    [found] = caught.value.diagnostics
    assert (found.code, found.location.line, found.location.col) == ("duplicate-key", 2, 19)


def test_text_output_never_starts_a_line_with_a_value() -> None:
    diagnostic = Diagnostic(
        Location("dir\n::error::file.yaml", 1, 2),
        "error",
        "unknown-pipeline",
        "unknown pipeline `x\n::error::x`\r::warning::\x1b[2J\x85\u2028\u2029\x7f\ud800",
        hint="did you mean `y\n::error::y`?",
    )
    text = format_text([diagnostic])
    assert [line for line in text.split("\n") if line.lstrip().startswith("::")] == []
    assert len(text.splitlines()) == 3  # the diagnostic, its hint, the summary
    assert (
        "unknown pipeline `x\\n::error::x`\\r::warning::\\x1b[2J\\x85\\u2028\\u2029\\x7f\\ud800"
        in text
    )
    assert text.split("\n")[1] == "  hint: did you mean `y\\n::error::y`?"
    text.encode("utf-8")  # nothing left that cannot be written
    rows = json.loads(format_json([diagnostic]))["diagnostics"]
    assert rows[0]["message"].endswith("\ud800")
    assert rows[0]["location"]["file"].startswith("dir\n")


def test_a_value_in_a_cli_diagnostic_cannot_start_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "pipelines.deploy.yaml"
    manifest.write_text('version: 1\n"x\\n::error::x": 1\n')
    assert main(["validate", "--manifest", str(manifest)]) == INVALID
    err = capsys.readouterr().err
    assert "::error::x" in err
    assert not [line for line in err.splitlines() if line.lstrip().startswith("::")]
