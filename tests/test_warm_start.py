"""Warm start, for real under `airflow dags test`: the tasks of a subprocess DAG run in children of
one server process that imported the project once; a run that dies by a signal fails its task with
that signal; a changed or added project file starts a new server; a project the server cannot
import fails the task with the project's own error; `warm_start: false` starts a new interpreter
for every task."""

from __future__ import annotations

from pathlib import Path

from conftest import BIN, kedro_gitops, run

# Test instrumentation: one line per Kedro run, with when the process that runs it imported the
# project's settings (a warm task's server did, once), the process's own id and whether its garbage
# collector is on; with $KILL_KEDRO_RUN set, the run then kills itself.
RECORD_HOOK = """

import gc as _gc
import os as _os
import signal as _signal
import time as _time

from kedro.framework.hooks import hook_impl as _hook_impl

_IMPORTED = _time.time_ns()


class _RecordProcess:
    @_hook_impl
    def before_pipeline_run(self, run_params):
        with open(RECORD, "a", encoding="utf-8") as f:
            f.write(f"{_IMPORTED} {_os.getpid()} {_gc.isenabled()}\\n")
        if _os.environ.get("KILL_KEDRO_RUN"):
            _os.kill(_os.getpid(), _signal.SIGKILL)


RECORD = __RECORD__
HOOKS = (_RecordProcess(),)
"""


class Project:
    """The example, compiled with the record hook and no retries, and its Airflow."""

    def __init__(self, checkout: Path, airflow_env: dict[str, str]) -> None:
        self.checkout = checkout
        self.package = checkout / "examples/spaceflights/src/spaceflights"
        self.record = checkout.parent / "runs.txt"
        settings = self.package / "settings.py"
        hook = RECORD_HOOK.replace("__RECORD__", repr(str(self.record)))
        settings.write_text(settings.read_text() + hook)
        self.manifest = checkout / "pipelines.deploy.yaml"
        text = self.manifest.read_text().replace("retries: 2", "retries: 0")
        self.manifest.write_text(text.replace("/tmp/spaceflights", str(checkout / "outputs")))
        self.compile()
        self.env = {**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": str(checkout / "dags")}

    def compile(self) -> None:
        compiled = kedro_gitops("compile", cwd=self.checkout)
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr

    def dag_test(self, state: str = "success", **env: str) -> tuple[list[tuple[str, ...]], str]:
        """Run data_processing_base (two tasks); what its Kedro runs recorded, and the log."""
        done = len(self.runs())
        proc = run(
            [str(BIN / "airflow"), "dags", "test", "data_processing_base"],
            Path("/"),
            {**self.env, **env},
        )
        log = proc.stdout + proc.stderr
        assert f"state={state}" in log, log[-6000:]
        return self.runs()[done:], log

    def runs(self) -> list[tuple[str, ...]]:
        if not self.record.exists():
            return []
        return [tuple(line.split()) for line in self.record.read_text().splitlines()]


def test_tasks_share_a_warm_server_until_the_project_changes(
    checkout: Path, airflow_env: dict[str, str]
) -> None:
    project = Project(checkout, airflow_env)
    first, _ = project.dag_test()
    assert len(first) == 2
    assert len({imported for imported, *_ in first}) == 1  # imported once, by the server
    assert len({pid for _, pid, _ in first}) == 2  # each task in its own process
    assert {collects for _, _, collects in first} == {"True"}  # off only while the server loads
    again, _ = project.dag_test()
    assert {imported for imported, *_ in again} == {first[0][0]}  # the same server, still warm

    killed, log = project.dag_test(state="failed", KILL_KEDRO_RUN="1")
    assert [imported for imported, *_ in killed] == [first[0][0]]
    assert "Kedro was killed by SIGKILL" in log  # the signal its run died of

    helpers = project.package / "pipelines/data_processing/helpers.py"
    helpers.write_text("")  # a new module, imported by nothing yet
    added, _ = project.dag_test()
    assert len({imported for imported, *_ in added}) == 1
    assert added[0][0] != first[0][0]  # a new server

    nodes = project.package / "pipelines/data_processing/nodes.py"
    nodes.write_text(nodes.read_text() + "\n# changed\n")
    changed, _ = project.dag_test()
    assert len({imported for imported, *_ in changed}) == 1
    assert changed[0][0] != added[0][0]  # a new server imported the changed project

    nodes.write_text(nodes.read_text() + "\nraise RuntimeError('kaboom from the project')\n")
    failed, log = project.dag_test(state="failed")
    assert failed == []
    assert "kaboom from the project" in log  # the project's own error, in the task log


def test_without_warm_start_every_task_starts_an_interpreter(
    checkout: Path, airflow_env: dict[str, str]
) -> None:
    project = Project(checkout, airflow_env)
    text = project.manifest.read_text()
    local = "    type: subprocess "
    assert text.count(local) == 1
    project.manifest.write_text(text.replace(local, "    warm_start: false\n" + local))
    project.compile()
    runs, _ = project.dag_test()
    assert len(runs) == 2
    assert len({imported for imported, *_ in runs}) == 2
