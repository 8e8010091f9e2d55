"""The cost of running a DAG: `airflow dags test` for each executor that runs locally, next to
plain `kedro run`, the no-op twin and kedro-airflow's DAG; and the same DAGs as a deployment runs
them, each task in its own process.

    python bench/run_cost.py [--runs 7] [--out bench/results.md]

Two projects: the example (`examples/spaceflights`) and a generated 50-node project whose modules
import pandas, scikit-learn and SciPy (`bench/heavy_project.py`). Each deploys `__default__`
grouped by memory in three DAGs, one per executor (subprocess, venv, python). Every round runs
`kedro run` of the pipeline, then each DAG under `airflow dags test`, then each deployed, the
DAGs in another order every round: ours; the no-op twin (the same tasks and edges, every task a
Python `pass`: what Airflow itself costs); and kedro-airflow 0.11's DAG (`kedro airflow create
--group-by memory`). Medians of `--runs` rounds.

Every DAG run starts cold: no warm server is left from the run before. Two ways to run a DAG:
`airflow dags test` runs every task in its own process, one after the other (what the targets are
set on); `airflow dags test --use-executor` with Airflow's LocalExecutor and an api-server runs
each task in a new task process, as a deployment does (venv is left out: it is subprocess with
another interpreter).

Per-task overhead = (DAG run - no-op twin - `kedro run`) / tasks: what running the pipeline as
tasks adds. The floor it is held against is a fresh process that can run Kedro: `python -c
"import kedro"` plus `bootstrap_project`. One task is profiled phase by phase.

The report replaces the section between the run-cost markers of `--out`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import heavy_project
from run import BIN, HERE, WORK, env, machine, versions

ROOT = HERE.parent

RUN = WORK / "run"
EXECUTORS = ("subprocess", "venv", "python")
DEPLOYED = ("subprocess", "python")  # under the LocalExecutor
BEGIN, END = "<!-- run-cost: begin -->", "<!-- run-cost: end -->"
MANIFEST = """\
version: 1
project: {{path: .}}
output: dags
defaults: {{retries: 0, assets: false}}
environments:
  base: {{kedro_env: base, env: {{{data_var}: {data}}}}}
executors:
  subprocess: {{type: subprocess}}
  venv: {{type: venv, python: {python}}}
  python: {{type: python}}
dags:
{dags}
"""
DAG = (
    "  - {{pipeline: __default__, dag_id: run_{executor}, executor: {executor}, "
    "groups: [{{by: memory}}]}}"
)
TWIN = """\
import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

TASKS = {tasks!r}
EDGES = {edges!r}


def noop() -> None:
    pass


with DAG(dag_id="twin", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
    tasks = {{t: PythonOperator(task_id=t, python_callable=noop) for t in TASKS}}
    for upstream, downstream in EDGES:
        tasks[upstream] >> tasks[downstream]
"""
# One task's Kedro run in phases, in a fresh process as a task's would be: prints the seconds
# from interpreter start to each phase's end.
PHASES = """\
import json, sys, time
from pathlib import Path
stamps = {"interpreter": time.perf_counter()}
import kedro
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
stamps["import kedro"] = time.perf_counter()
bootstrap_project(Path.cwd())
stamps["bootstrap project"] = time.perf_counter()
from kedro.framework.project import pipelines
pipelines.set_requested([sys.argv[1]])
pipeline = pipelines[sys.argv[1]]
stamps["pipeline registry"] = time.perf_counter()
with KedroSession.create(project_path=Path.cwd(), env="base") as session:
    catalog = session.load_context().catalog
    stamps["catalog build"] = time.perf_counter()
    session.run(pipeline_names=[sys.argv[1]], node_names=sys.argv[2].split(","))
    stamps["session and node run"] = time.perf_counter()
print(json.dumps(stamps))
"""
FLOOR = (
    "import kedro; from pathlib import Path; "
    "from kedro.framework.startup import bootstrap_project; bootstrap_project(Path.cwd())"
)


def project(name: str) -> tuple[Path, str]:
    """A fresh copy of the project `name` and the variable its catalog reads its data root from."""
    target = RUN / name
    shutil.rmtree(target, ignore_errors=True)
    if name == "example":
        source = ROOT / "examples" / "spaceflights"
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".git*"))
        return target, "SPACEFLIGHTS_DATA"
    heavy_project.write_project(target)
    return target, "HEAVY_DATA"


def timed(cmd: list[str], cwd: Path, environ: dict[str, str], check_run: bool = False) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    log = done.stdout + done.stderr
    failed = done.returncode != 0 or (
        check_run and not re.search(r"DagRun Finished:.*state=success", log)
    )
    if failed:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{log[-4000:]}")
    return elapsed


def prepare(name: str) -> dict[str, object]:
    """The project with its DAGs (ours, the twin, kedro-airflow's) and what runs them."""
    folder, data_var = project(name)
    data = folder / "outputs"
    dags = "\n".join(DAG.format(executor=e) for e in EXECUTORS)
    manifest = MANIFEST.format(data_var=data_var, data=data, python=BIN / "python", dags=dags)
    (folder / "pipelines.deploy.yaml").write_text(manifest)
    environ = env(**{data_var: str(data)})
    subprocess.run(
        [str(BIN / "kedro-gitops"), "compile"],
        cwd=folder,
        env=environ,
        check=True,
        capture_output=True,
    )
    plan = json.loads(
        subprocess.run(
            [str(BIN / "kedro-gitops"), "plan", "--format", "json"],
            cwd=folder,
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    dag = next(d for d in plan["dags"] if d["dag_id"] == "run_subprocess")
    tasks = [t["task_id"] for t in dag["tasks"]]
    edges = [[e["upstream"], e["downstream"]] for e in dag["edges"]]
    (folder / "twin").mkdir()
    (folder / "twin" / "twin.py").write_text(TWIN.format(tasks=tasks, edges=edges))
    kaf = folder / "kaf"
    # kedro-airflow's DAG settings: no retries (a failure ends the bench), as ours.
    (folder / "conf" / "base" / "airflow.yml").write_text("default:\n  retries: 0\n")
    subprocess.run(
        [str(BIN / "kedro"), "airflow", "create", "--pipelines", "__default__", "--env", "base",
         "--group-by", "memory", "--target-dir", str(kaf)],
        cwd=folder, env=environ, check=True, capture_output=True,
    )  # fmt: skip
    [kaf_file] = kaf.glob("*.py")
    kaf_id = re.search(r'dag_id="([^"]+)"', kaf_file.read_text())[1]
    first = dag["tasks"][0]
    return {
        "folder": folder,
        "environ": environ,
        "tasks": len(tasks),
        "kaf_tasks": kaf_file.read_text().count("@task("),
        "runs": {
            **{e: (f"run_{e}", folder / "dags" / f"run_{e}.py") for e in EXECUTORS},
            "twin": ("twin", folder / "twin" / "twin.py"),
            "kedro-airflow": (kaf_id, kaf_file),
        },
        "first_nodes": first["nodes"],
    }


def dag_test(setup: dict, dag_id: str, file: Path, home: Path, extra: dict[str, str]) -> float:
    """Wall time of `airflow dags test` of the DAG, cold."""
    cmd, environ = dag_test_command(setup, dag_id, file, home, extra)
    return timed(cmd, setup["folder"], environ, check_run=True)


def deployed_run(setup: dict, dag_id: str, file: Path, home: Path, extra: dict[str, str]) -> float:
    """The DAG run's duration as Airflow records it, each task run by the LocalExecutor in its
    own task process, cold. (The command can hang in the executor's shutdown once the run has
    finished; it is stopped then.)"""
    cmd, environ = dag_test_command(setup, dag_id, file, home, extra)
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [*cmd, "--use-executor"], cwd=setup["folder"], env=environ, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 900
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            log.seek(0)
            if "DagRun Finished:" in log.read():  # ten seconds to shut down
                deadline = min(deadline, time.monotonic() + 10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.seek(0)
        text = log.read()
    done = re.search(r"DagRun Finished:.*run_duration=([\d.]+), state=(\w+)", text)
    if not done or done[2] != "success":
        raise SystemExit(f"{' '.join(cmd)} --use-executor failed:\n{text[-4000:]}")
    return float(done[1])


def dag_test_command(
    setup: dict, dag_id: str, file: Path, home: Path, extra: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    folder = str(file.parent)  # the DAG bundle `-f` reads the file from
    environ = {**setup["environ"], **extra, "AIRFLOW_HOME": str(home)}
    environ["AIRFLOW__CORE__DAGS_FOLDER"] = folder
    environ["TMPDIR"] = str(setup["tmp"])  # where warm servers put their sockets
    stop_warm_servers(setup["tmp"])  # every run starts cold
    return [str(BIN / "airflow"), "dags", "test", dag_id, "-f", str(file)], environ


def stop_warm_servers(tmp: Path) -> None:
    """Stop the warm servers whose sockets are under `tmp`, and wait until they are gone."""
    mine = [
        int(proc.name)
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit() and str(tmp) in _cmdline(proc)
    ]
    for pid in mine:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in mine):
        time.sleep(0.05)


def _cmdline(proc: Path) -> str:
    try:
        return proc.joinpath("cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def api_server(home: Path, environ: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """An Airflow api-server for `home` (the LocalExecutor's tasks report to it) and its
    execution API's URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "airflow"), "api-server", "--port", str(port)],
        env={**environ, "AIRFLOW_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health"):
                return server, f"http://127.0.0.1:{port}/execution/"
        except OSError:
            time.sleep(0.5)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("the Airflow api-server did not start")


def profile(setup: dict, runs: int) -> dict[str, float]:
    """One task's phases (medians, seconds), the floor, and the task as `kedro run` runs it."""
    folder, environ = setup["folder"], setup["environ"]
    nodes = ",".join(setup["first_nodes"])
    python = str(BIN / "python")
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([python, "-c", PHASES, "__default__", nodes], cwd=folder, env=environ,
                              capture_output=True, text=True, check=True)  # fmt: skip
        stamps = json.loads(done.stdout.strip().splitlines()[-1])
        total = time.perf_counter() - start
        empty = timed([python, "-c", "pass"], folder, environ)
        previous = stamps.pop("interpreter")
        phases = {"interpreter start": empty}
        for phase, stamp in stamps.items():
            phases[phase] = stamp - previous
            previous = stamp
        phases["phases total"] = total
        phases["floor"] = timed([python, "-c", FLOOR], folder, environ)
        task = [
            python,
            "-m",
            "kedro",
            "run",
            "--pipelines",
            "__default__",
            "--env",
            "base",
            "--nodes",
            nodes,
        ]
        phases["one task (subprocess executor)"] = timed(task, folder, environ)
        for phase, seconds in phases.items():
            samples.setdefault(phase, []).append(seconds)
    return {phase: statistics.median(values) for phase, values in samples.items()}


def bench_project(name: str, runs: int) -> dict[str, object]:
    setup = prepare(name)
    home = Path(tempfile.mkdtemp(prefix="kedro-gitops-run-bench-"))
    setup["tmp"] = Path(tempfile.mkdtemp(prefix="kedro-gitops-run-tmp-"))
    environ = {**setup["environ"], "AIRFLOW_HOME": str(home)}
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=environ, check=True, capture_output=True
    )
    server, execution_api = api_server(home, setup["environ"])
    deployed_env = {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": execution_api}
    kedro_run = [str(BIN / "kedro"), "run", "--pipelines", "__default__", "--env", "base"]
    seconds: dict[str, list[float]] = {key: [] for key in [*setup["runs"], "kedro run"]}
    deployed: dict[str, list[float]] = {
        key: [] for key in setup["runs"] if key in (*DEPLOYED, "twin", "kedro-airflow")
    }
    # kedro-airflow's tasks import the project's package, installed as its docs deploy it
    package = {"PYTHONPATH": str(setup["folder"] / "src")}
    extras = {key: package if key == "kedro-airflow" else {} for key in setup["runs"]}
    try:
        for round_ in range(runs):
            print(f"  {name}: round {round_ + 1} of {runs}", file=sys.stderr)
            seconds["kedro run"].append(timed(kedro_run, setup["folder"], setup["environ"]))
            order = list(setup["runs"].items())
            shift = round_ % len(order)  # each round starts with another DAG
            order = order[shift:] + order[:shift]
            # every `dags test` of the round, then every deployed run: the runs compared with
            # each other are a minute apart at most, so the machine's drift is mostly paired out
            for key, (dag_id, file) in order:
                seconds[key].append(dag_test(setup, dag_id, file, home, extras[key]))
            for key, (dag_id, file) in order:
                if key in deployed:
                    extra = {**extras[key], **deployed_env}
                    deployed[key].append(deployed_run(setup, dag_id, file, home, extra))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
        stop_warm_servers(setup["tmp"])
    shutil.rmtree(home)
    shutil.rmtree(setup["tmp"])
    return {
        "project": name,
        "tasks": setup["tasks"],
        "kaf_tasks": setup["kaf_tasks"],
        "seconds": {k: statistics.median(v) for k, v in seconds.items()},
        "deployed": {k: statistics.median(v) for k, v in deployed.items()},
        "rounds": {"seconds": seconds, "deployed": deployed},
        "profile": profile(setup, runs),
    }


def section(results: list[dict], runs: int, command: str) -> str:
    out = [
        BEGIN,
        "## The cost of running a DAG",
        "",
        f"Command: `{command}`; medians of {runs} rounds, interleaved (each round in another "
        "order). Wall time of one DAG run, cold (no warm server is left from the run before); "
        "per-task overhead = (run - no-op twin - `kedro run`) / tasks; the floor is a fresh "
        "process that imports Kedro and bootstraps the project. vs kedro-airflow: the median of "
        "each round's ratio (the two runs a minute apart at most), in brackets the lowest and "
        "highest, and in how many rounds ours was the faster.",
        "",
        "Under `airflow dags test` (one process runs the tasks one after the other):",
        "",
        "| project | executor | tasks | DAG run | no-op twin | `kedro run` | per-task overhead | "
        "overhead / floor | vs kedro-airflow |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s, floor = r["seconds"], r["profile"]["floor"]
        for key in (*EXECUTORS, "kedro-airflow"):
            tasks, overhead, versus = compared(r, "seconds", key)
            out.append(
                f"| {r['project']} | {key} | {tasks} | {s[key]:.1f} s | {s['twin']:.1f} s | "
                f"{s['kedro run']:.1f} s | {overhead:.2f} s | {overhead / floor:.1f}x | {versus} |"
            )
    out += [
        "",
        "Deployed: `airflow dags test --use-executor` with the LocalExecutor and an api-server, "
        "each task in a new task process, as a scheduler runs them:",
        "",
        "| project | executor | tasks | DAG run | no-op twin | per-task overhead | "
        "vs kedro-airflow |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["deployed"]
        for key in (*DEPLOYED, "kedro-airflow"):
            tasks, overhead, versus = compared(r, "deployed", key)
            out.append(
                f"| {r['project']} | {key} | {tasks} | {d[key]:.1f} s | {d['twin']:.1f} s | "
                f"{overhead:.2f} s | {versus} |"
            )
    out += [
        "",
        "One task in a fresh process, phase by phase (the first task of the subprocess DAG; "
        "seconds):",
        "",
        "| phase | " + " | ".join(r["project"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for phase in results[0]["profile"]:
        out.append(
            f"| {phase} | " + " | ".join(f"{r['profile'][phase]:.2f}" for r in results) + " |"
        )
    out += ["", END]
    return "\n".join(out)


def compared(result: dict, mode: str, key: str) -> tuple[int, float, str]:
    """The DAG's tasks, its per-task overhead and its run time against kedro-airflow's, in `mode`
    (`seconds`: under `airflow dags test`, or `deployed`)."""
    seconds, rounds = result[mode], result["rounds"][mode]
    tasks = result["kaf_tasks"] if key == "kedro-airflow" else result["tasks"]
    overhead = (seconds[key] - seconds["twin"] - result["seconds"]["kedro run"]) / tasks
    if key == "kedro-airflow":
        return tasks, overhead, ""
    pairs = zip(rounds[key], rounds["kedro-airflow"], strict=True)
    ratios = [ours / theirs for ours, theirs in pairs]
    low, high, faster = min(ratios), max(ratios), sum(ratio < 1 for ratio in ratios)
    median = statistics.median(ratios)
    return tasks, overhead, f"{median:.2f}x ({low:.2f}-{high:.2f}; {faster} of {len(ratios)})"


def write_section(path: Path, text: str) -> None:
    """Replace the run-cost section of `path` (or append it)."""
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + text + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--projects", default="example,heavy")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    command = f"python bench/run_cost.py --runs {args.runs}"
    RUN.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.projects.split(","):
        print(f"run cost: {name} ...", file=sys.stderr)
        results.append(bench_project(name, args.runs))
        saved = {"machine": machine(), "versions": versions(), "results": results}
        (HERE / "run_results.json").write_text(json.dumps(saved, indent=2, default=str) + "\n")
    text = section(results, args.runs, command)
    write_section(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
