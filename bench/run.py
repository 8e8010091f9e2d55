"""Benchmark kedro-gitops against kedro-airflow on synthetic Kedro projects.

    python bench/run.py [--sizes 100,1000,5000,10000] [--runs 5] [--out bench/results.md]

For every size, in one run and interleaved: compile time cold (the project is read) and warm
(cached snapshot) next to `kedro airflow create`; the DAG file's parse cost in Airflow next to
kedro-airflow's files and a plain hand-style file with one operator statement per task (the
floor); peak memory; and the no-op pre-commit hook. Medians of `--runs` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
BIN = Path(sys.executable).parent
MANIFEST = """\
version: 1
project: {path: .}
output: dags
environments:
  base: {kedro_env: base}
dags:
  - pipeline: main
    schedule: "@daily"
    groups:
      - {by: memory}
"""
# Runs a command, then prints its wall time, exit code and the peak RSS (KiB) of any process in it.
MEASURE = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps([elapsed, done.returncode, peak, done.stderr.decode()[-2000:]]))
"""


@dataclass
class Series:
    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_kib) / 1024


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        **extra,
    }


def measure(cmd: list[str], cwd: Path, environ: dict[str, str], into: Series) -> None:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, code, peak, stderr = json.loads(out.stdout)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{stderr}")
    into.seconds.append(elapsed)
    into.peak_kib.append(peak)


def plain_file(dag: dict[str, object], ours: str) -> str:
    """A hand-written style DAG: one operator statement per task (the operator and callable of
    ours), one `>>` per edge."""
    header = ours[: ours.index("TASKS = (")]  # imports, constants and the task callable
    lines = [header, "", "with DAG("]
    lines += [
        f"    dag_id={dag['dag_id']!r},",
        '    schedule="@daily",',
        "    start_date=pendulum.datetime(2024, 1, 1, tz='UTC'),",
        "    catchup=False,",
        "    default_args={'owner': 'airflow', 'retries': 0,",
        "                  'retry_delay': datetime.timedelta(seconds=300)},",
        ") as dag:",
    ]
    names = {}
    for i, task in enumerate(dag["tasks"]):  # type: ignore[attr-defined]
        names[task["task_id"]] = f"t{i}"
        lines.append(
            f"    t{i} = PythonOperator(task_id={task['task_id']!r}, python_callable=run_kedro, "
            f"op_kwargs=literal({{'nodes': {task['nodes']!r}}}), do_xcom_push=False)"
        )
    for edge in dag["edges"]:  # type: ignore[attr-defined]
        lines.append(f"    {names[edge['upstream']]} >> {names[edge['downstream']]}")
    return "\n".join(lines) + "\n"


# What each feature of a generated file costs to parse: the file without it (the same file, one
# feature's constants emptied and its operator argument dropped), measured beside the file.
FEATURES = {
    "docs": (("TASK_DOCS", "{}"), "            doc_md=TASK_DOCS[task_id],\n"),
    "assets": (("TASK_ASSETS", "{}"), "            outlets=[ASSET[a] for a in outlets],\n"),
    "groups": (("GROUPS", "()"), "            task_group=groups[group],\n"),
    "display": (None, "            task_display_name=name,\n"),
}


def without(text: str, feature: str) -> str:
    """The generated file `text` without one feature (see FEATURES)."""
    constant, argument = FEATURES[feature]
    assert argument in text, feature
    text = text.replace(argument, "")
    if feature == "assets":  # no Asset is made at all
        text = text.replace("            inlets=[ASSET[a] for a in inlets],\n", "")
        text = re.sub(r"^ASSETS = \{\n(?:    .*\n)*\}\n", "ASSETS = {}\n", text, flags=re.M)
    if constant:
        name, empty = constant
        block = re.compile(rf"^{name} = [{{(]\n(?:    .*\n)*[}})]\n", re.MULTILINE)
        text, found = block.subn(f"{name} = {empty}\n", text)
        assert found == 1, feature
    return text


BARE = """\
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG(dag_id="bare", schedule=None):
    for i in range({tasks}):
        PythonOperator(task_id=f"t{{i}}", python_callable=print)
"""


def bench_size(size: int, runs: int) -> dict[str, object]:
    project = WORK / f"n{size}"
    shutil.rmtree(project, ignore_errors=True)
    subprocess.run(
        [sys.executable, str(HERE / "make_project.py"), str(size), str(project)], check=True
    )
    (project / "pipelines.deploy.yaml").write_text(MANIFEST)
    series = {k: Series() for k in ("cold", "warm", "kaf", "kaf_memory")}
    for _ in range(runs):
        cache = Path(tempfile.mkdtemp(prefix="kedro-gitops-bench-cache-"))
        ours = env(KEDRO_GITOPS_CACHE_DIR=str(cache))
        shutil.rmtree(project / "dags", ignore_errors=True)
        measure([str(BIN / "kedro-gitops"), "compile"], project, ours, series["cold"])
        measure([str(BIN / "kedro-gitops"), "compile"], project, ours, series["warm"])
        shutil.rmtree(cache)
        for key, extra in (("kaf", []), ("kaf_memory", ["--group-by", "memory"])):
            target = project / key
            shutil.rmtree(target, ignore_errors=True)
            measure(
                [
                    str(BIN / "kedro"),
                    "airflow",
                    "create",
                    "--pipelines",
                    "main",
                    "--env",
                    "base",
                    "--target-dir",
                    str(target),
                    *extra,
                ],
                project,
                env(),
                series[key],
            )

    plan = json.loads(
        subprocess.run(
            [str(BIN / "kedro-gitops"), "plan", "--format", "json"],
            cwd=project,
            env=env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["dags"][0]
    ours_file = project / "dags" / "main_base.py"
    plain = project / "plain" / "main_plain.py"
    plain.parent.mkdir(exist_ok=True)
    plain.write_text(plain_file(plan, ours_file.read_text()))
    bare = project / "plain" / "bare.py"  # Airflow's own cost of as many tasks, and nothing else
    bare.write_text(BARE.format(tasks=len(plan["tasks"])))
    files = {
        "ours": ours_file,
        "plain": plain,
        "bare": bare,
        "kaf": next((project / "kaf").glob("*.py")),
        "kaf_memory": next((project / "kaf_memory").glob("*.py")),
    }
    for feature in FEATURES:
        variant = project / "plain" / f"without_{feature}.py"
        variant.write_text(without(ours_file.read_text(), feature))
        files[f"without_{feature}"] = variant
    parse_runs = runs if size > 1000 else max(runs, 21)  # small files: more runs, less noise
    probe = subprocess.run(
        [sys.executable, str(HERE / "parse_probe.py"), str(parse_runs), *map(str, files.values())],
        cwd=project,
        env=env(AIRFLOW_HOME=str(WORK / "airflow-home")),
        capture_output=True,
        text=True,
        check=True,
    )
    parsed = json.loads(probe.stdout.strip().splitlines()[-1])
    parse = {k: statistics.median(parsed[str(v)]) for k, v in files.items()}
    return {
        "size": size,
        "tasks": len(plan["tasks"]),
        "compile": {k: (s.median, s.peak_mb) for k, s in series.items()},
        "parse": parse,
        "parse_runs": parse_runs,
        "bytes": {k: v.stat().st_size for k, v in files.items()},
    }


HOOK_CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: kedro-gitops
        name: kedro-gitops
        entry: {entry} compile --exit-non-zero-on-change
        language: unsupported
        pass_filenames: false
        require_serial: true
        files: ^(pipelines\\.deploy\\.yaml$|dags/)|(^|/)(conf|src)/|(^|/)pyproject\\.toml$
"""


def bench_hook(runs: int) -> dict[str, object]:
    """`git commit` of an unrelated file in a repository with the hook installed."""
    repo = WORK / "hook-repo"
    shutil.rmtree(repo, ignore_errors=True)
    # The project without its compiled dags/: the repository compiles its own (a file compiled
    # from another manifest path is not this manifest's to overwrite).
    shutil.copytree(WORK / "n1000", repo, ignore=shutil.ignore_patterns("kaf*", "plain", "dags"))
    (repo / ".pre-commit-config.yaml").write_text(HOOK_CONFIG.format(entry=BIN / "kedro-gitops"))
    cache = WORK / "hook-cache"
    git_env = env(
        KEDRO_GITOPS_CACHE_DIR=str(cache),
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        PRE_COMMIT_HOME=str(WORK / "pre-commit-home"),
    )

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=git_env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    subprocess.run(
        [str(BIN / "pre-commit"), "install"], cwd=repo, env=git_env, check=True, capture_output=True
    )
    subprocess.run(
        [str(BIN / "kedro-gitops"), "compile"],
        cwd=repo,
        env=git_env,
        check=True,
        capture_output=True,
    )  # the cache is warm, as after any earlier commit
    commits, warm = Series(), Series()
    for i in range(runs):
        (repo / "NOTES.md").write_text(f"note {i}\n")
        git("add", "NOTES.md")
        measure(["git", "commit", "-q", "-m", f"note {i}"], repo, git_env, commits)
        measure(
            [str(BIN / "kedro-gitops"), "compile", "--exit-non-zero-on-change"], repo, git_env, warm
        )
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kedro_gitops", "compile"],
        cwd=repo,
        env=git_env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    kedro = any(
        line.rsplit("|", 1)[-1].strip().split(".")[0] == "kedro"
        for line in imports.splitlines()
        if "|" in line
    )
    return {"commit": commits.median, "warm_compile": warm.median, "imports_kedro": kedro}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("kedro", "apache-airflow", "kedro-airflow", "kedro-gitops", "pre-commit")
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.platform()}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def report(results: list[dict], hook: dict, runs: int, command: str) -> str:
    v = versions()
    out = [
        "# kedro-gitops benchmark",
        "",
        f"Machine: {machine()}  ",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + "  ",
        f"Command: `{command}`; every figure is the median of {runs} runs, measured "
        "interleaved in one run.",
        "",
        "Projects come from `bench/make_project.py` (chains, fan-in, fan-out, 10 namespaces, "
        "tags, about a quarter of the datasets in memory). kedro-gitops compiles them with a "
        "`{by: memory}` rule; kedro-airflow 0.11 runs `kedro airflow create` as is and with "
        "`--group-by memory`.",
        "",
        "## Compile",
        "",
        "| nodes | tasks | kedro-gitops cold | warm | `kedro airflow create` | `create -g memory` "
        "| cold / create | cold / create -g memory | warm / create | warm / create -g memory "
        "| peak MB kedro-gitops | peak MB kedro-airflow |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r["compile"]
        out.append(
            f"| {r['size']:,} | {r['tasks']:,} | {c['cold'][0]:.2f} s | {c['warm'][0]:.2f} s "
            f"| {c['kaf'][0]:.2f} s | {c['kaf_memory'][0]:.2f} s "
            f"| {ratio(c['cold'][0], c['kaf'][0])} | {ratio(c['cold'][0], c['kaf_memory'][0])} "
            f"| {ratio(c['warm'][0], c['kaf'][0])} | {ratio(c['warm'][0], c['kaf_memory'][0])} "
            f"| {max(c['cold'][1], c['warm'][1]):.0f} "
            f"| {max(c['kaf'][1], c['kaf_memory'][1]):.0f} |"
        )
    out += [
        "",
        "## DAG parse cost in Airflow",
        "",
        "`DagBag` load of the one file in a child forked from a process that has imported "
        "Airflow and frozen its heap, as Airflow 3's DAG processor does (`bench/parse_probe.py`). "
        "The plain file has kedro-gitops's tasks and edges written as one statement each. "
        "Bare is Airflow's own floor: a loop that makes as many `PythonOperator(task_id, "
        "python_callable)` (the operator kedro-gitops's `subprocess` tasks use) as kedro-gitops "
        "has tasks, with no edges and nothing else.",
        "",
        "| nodes | kedro-gitops | plain (floor) | bare | kedro-airflow | kedro-airflow -g memory "
        "| / plain | / kedro-airflow | / kedro-airflow -g memory | bare / kedro-airflow "
        "| file KB (ours / kedro-airflow) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        p, b = r["parse"], r["bytes"]
        out.append(
            f"| {r['size']:,} ({r['parse_runs']} runs) | {p['ours'] * 1000:.1f} ms "
            f"| {p['plain'] * 1000:.1f} ms | {p['bare'] * 1000:.1f} ms "
            f"| {p['kaf'] * 1000:.0f} ms | {p['kaf_memory'] * 1000:.0f} ms "
            f"| {ratio(p['ours'], p['plain'])} | {ratio(p['ours'], p['kaf'])} "
            f"| {ratio(p['ours'], p['kaf_memory'])} | {ratio(p['bare'], p['kaf'])} "
            f"| {b['ours'] / 1024:.0f} / {b['kaf'] / 1024:.0f} |"
        )
    out += [
        "",
        "### What each feature costs to parse",
        "",
        "The same generated file without one feature (its constants emptied, its operator "
        "argument dropped), parsed in the same interleaved runs: the feature's cost is the "
        "difference, per task. Docs: each task's `doc_md` (its nodes, functions, sources, "
        "datasets); Assets: outlets and inlets of persisted datasets; groups: namespace "
        "TaskGroups; display: `task_display_name`.",
        "",
        "| nodes | tasks | kedro-gitops | "
        + " | ".join(f"{f} (per task)" for f in FEATURES)
        + " |",
        "|---:|---:|---:|" + "---:|" * len(FEATURES),
    ]
    for r in results:
        p, tasks = r["parse"], r["tasks"]
        costs = [
            f"{(p['ours'] - p[f'without_{f}']) * 1000:.1f} ms "
            f"({(p['ours'] - p[f'without_{f}']) / tasks * 1e6:.0f} µs)"
            for f in FEATURES
        ]
        out.append(
            f"| {r['size']:,} | {tasks:,} | {p['ours'] * 1000:.1f} ms | {' | '.join(costs)} |"
        )
    out += [
        "",
        "## Pre-commit hook",
        "",
        f"- `git commit` of a file the hook does not watch, hook installed (1,000-node project): "
        f"{hook['commit']:.2f} s; the hook is skipped and nothing imports Kedro.",
        f"- The hook when it runs and nothing changed (`kedro-gitops compile "
        f"--exit-non-zero-on-change`, cached snapshot): {hook['warm_compile']:.2f} s; imports "
        f"Kedro: {'yes' if hook['imports_kedro'] else 'no'}.",
        "",
    ]
    return "\n".join(out)


def kept_sections(path: Path) -> str:
    """The sections of `path` another bench script writes (`run_cost.py`), kept as they are."""
    old = path.read_text() if path.exists() else ""
    start = old.find("<!-- run-cost: begin -->")
    end = old.find("<!-- run-cost: end -->")
    if start < 0 or end < 0:
        return ""
    return "\n" + old[start : end + len("<!-- run-cost: end -->")] + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from the JSON of the last run",
    )
    args = parser.parse_args()
    command = " ".join(["python bench/run.py", f"--sizes {args.sizes}", f"--runs {args.runs}"])
    if args.report_only:
        saved = json.loads(args.out.with_suffix(".json").read_text())
        text = report(saved["results"], saved["hook"], args.runs, command)
        args.out.write_text(text + "\n" + kept_sections(args.out))
        return
    WORK.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env=env(AIRFLOW_HOME=str(WORK / "airflow-home")),
        check=True,
        capture_output=True,
    )
    results = []
    for size in sizes:
        print(f"benchmarking {size} nodes ...", file=sys.stderr)
        results.append(bench_size(size, args.runs))
    hook = bench_hook(args.runs) if 1000 in sizes else {}
    text = report(results, hook, args.runs, command)
    args.out.write_text(text + "\n" + kept_sections(args.out))
    (args.out.with_suffix(".json")).write_text(
        json.dumps({"results": results, "hook": hook}, indent=2) + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
