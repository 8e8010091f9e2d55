"""The package runtime for real: `kedro package` the example, install the wheel into a fresh
virtual environment, and run a compiled DAG against it with its conf from a folder: no project
directory on the worker."""

from __future__ import annotations

import shutil
import site
import tarfile
from pathlib import Path

from conftest import BIN, kedro_gitops, run

MANIFEST = """\
version: 1
project: {{path: examples/spaceflights}}
environments:
  prod: {{kedro_env: prod, env: {{SPACEFLIGHTS_DATA: "{outputs}"}}}}
executors:
  wheel:
    type: subprocess
    runtime: package
    python: "{python}"
    conf_source: "{conf}"
    workdir: "{workdir}"
dags:
  - pipeline: data_processing
    dag_id: packaged_{{environment}}
    executor: wheel
"""


def test_a_wheel_and_a_conf_folder_are_all_a_worker_needs(
    checkout: Path, airflow_env: dict[str, str], tmp_path: Path
) -> None:
    project = checkout / "examples/spaceflights"
    built = run([str(BIN / "kedro"), "package"], project, airflow_env)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = (project / "dist").glob("spaceflights-*.whl")
    [archive] = (project / "dist").glob("conf-spaceflights.tar.gz")

    # The worker: a fresh venv with the wheel; its dependencies come from the test environment.
    venv = tmp_path / "worker-venv"
    assert (
        run([str(BIN / "python"), "-m", "venv", "--without-pip", str(venv)], tmp_path).returncode
        == 0
    )
    [worker_site] = venv.glob("lib/python3*/site-packages")
    (worker_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = run(
        [str(BIN / "python"), "-m", "pip", "--python", str(venv / "bin/python"),
         "install", "--quiet", "--no-deps", str(wheel)],
        tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    conf = tmp_path / "conf"
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python 3.11.4+
    with tarfile.open(archive) as tar:
        tar.extractall(conf, **safe)  # type: ignore[arg-type]
    [conf_root] = [p for p in conf.iterdir() if p.is_dir()]
    workdir = tmp_path / "work"  # raw inputs are read relative to the working directory
    shutil.copytree(project / "data/01_raw", workdir / "data/01_raw")
    outputs = tmp_path / "outputs"

    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        MANIFEST.format(
            outputs=outputs, python=venv / "bin/python", conf=conf_root, workdir=workdir
        )
    )
    compiled = kedro_gitops("compile", cwd=checkout)
    assert compiled.returncode == 0, compiled.stderr
    dag_file = (checkout / "dags/packaged_prod.py").read_text()
    assert "PROJECT_DIR" not in dag_file
    assert '"-m", PACKAGE' in dag_file

    shutil.rmtree(project)  # no project directory on the worker
    env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(checkout / "dags")}
    proc = run([str(BIN / "airflow"), "dags", "test", "packaged_prod"], Path("/"), env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "state=success" in proc.stdout + proc.stderr
    assert (outputs / "03_primary/model_input_table.csv").is_file()
    assert (outputs / "02_intermediate/preprocessed_shuttles.csv").is_file()
