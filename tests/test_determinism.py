"""Same inputs, same bytes: any PYTHONHASHSEED, any checkout path."""

from __future__ import annotations

import os
from pathlib import Path

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
