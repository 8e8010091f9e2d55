"""The README's own commands, run exactly as written, from a shell a new user would have."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def console_block(after: str) -> list[str]:
    """The `$ ` commands of the first console block that follows the text `after`."""
    start = README.index(after)
    block = re.search(r"```console\n(.*?)```", README[start:], re.DOTALL)
    assert block, f"no console block after {after!r}"
    return [line[2:] for line in block.group(1).splitlines() if line.startswith("$ ")]


def user_shell() -> dict[str, str]:
    """A login-like environment: no virtual environment active, nothing of ours on PATH."""
    return {
        "HOME": os.environ.get("HOME", "/root"),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "KEDRO_DISABLE_TELEMETRY": "1",
    }


def test_run_a_dag_in_a_local_airflow_as_the_readme_says() -> None:
    commands = console_block("To run a DAG in a local Airflow")
    assert any("airflow dags test data_processing_base" in c for c in commands)
    assert ".venv/bin" not in user_shell()["PATH"]
    outputs = Path("/tmp/spaceflights/base")  # where pipelines.deploy.yaml puts base's data
    shutil.rmtree(outputs, ignore_errors=True)
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        cwd=ROOT,
        env=user_shell(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "state=success" in log
    assert (outputs / "03_primary/model_input_table.csv").is_file()
    assert "Completed node: create_model_input_table_node" in log
