"""The `kedro-gitops` command line: compile, check, validate, plan."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .build import Build, build
from .diagnostics import CompileError, Diagnostic, Location, escape, format_json, format_text
from .paths import find_manifest

if TYPE_CHECKING:
    from .plan import Plan

OK, OUT_OF_SYNC, INVALID, INTERNAL = 0, 1, 2, 3


def _report(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        print(format_json(diagnostics))
    elif diagnostics:
        print(format_text(diagnostics), file=sys.stderr)


def _say(text: str) -> None:
    """A line for the user, user values escaped: none can start a line of its own."""
    print(escape(text), file=sys.stderr)


def _compile(result: Build, args: argparse.Namespace) -> int:
    from .output import write

    done = write(result.files, result.out_dir, result.owner, result.manifest_file)
    for change in done:
        path = f"{result.output}/{change.name}"
        if change.kind == "orphaned" and change.edited:
            _say(
                f"     kept {path}: generated from {result.manifest_file} and edited since, and "
                "no longer compiled; remove it yourself if it is not needed"
            )
        else:
            verb = {"missing": "created", "changed": "updated", "orphaned": "removed"}[change.kind]
            note = " (it differed from what was generated)" if change.edited else ""
            _say(f"{verb:>9} {path}{note}")
    for problem in airflow_view_problems(result):
        _say(f"  warning {result.output}/{problem}")
    _say(f"{len(result.files)} DAG file(s) in {result.output}/, {len(done)} changed")
    if done and args.exit_non_zero_on_change:
        _say(
            f"the DAG files changed: review them, then `git add {result.output}` and commit again "
            "(`git commit -a` alone would leave new DAG files out)"
        )
        return OUT_OF_SYNC
    return OK


def airflow_view_problems(result: Build) -> list[str]:
    """What makes Airflow load something other than the generated files: a copy of one in a
    subfolder or a zip, or an `.airflowignore` that hides one."""
    from .airflow_view import copies, hidden
    from .paths import repository_root

    top = repository_root(result.out_dir.resolve()) or result.out_dir.resolve()
    names = sorted(result.files)
    found = [
        f"{c} (a copy of a generated DAG: Airflow loads it too)"
        for c in copies(result.out_dir, result.owner)
    ]
    found += [
        f"{name} (hidden from Airflow by {source})"
        for name, source in hidden(result.out_dir.resolve(), names, top).items()
    ]
    return found


def _check(result: Build, args: argparse.Namespace) -> int:
    from .gitio import untracked
    from .output import changes

    found = changes(result.files, result.out_dir, result.owner)
    for change in found:
        sys.stdout.write(change.diff(result.output))
    problems = [f"{c.name} ({c.kind})" for c in found]
    problems += [f"{n} (untracked)" for n in untracked(result.out_dir, sorted(result.files))]
    seen = airflow_view_problems(result)
    if problems or seen:
        _say(f"{result.output}/ is out of date: {', '.join(problems + seen)}")
        if problems:
            _say("run `kedro-gitops compile`, then `git add` and commit the DAG files")
        if seen:
            _say("remove the copies, and make `.airflowignore` leave the generated files visible")
        return OUT_OF_SYNC
    _say(f"{result.output}/ is up to date ({len(result.files)} DAG file(s))")
    return OK


def _validate(result: Build, args: argparse.Namespace) -> int:
    assert result.plan is not None
    _say(f"{result.manifest_file}: valid, {len(result.plan.dags)} DAG(s)")
    return OK


def plan_text(plan: Plan) -> str:
    from .tasks import DURATIONS

    lines = []
    for dag in plan.dags:
        schedule = dag.schedule.value or "manual"
        if dag.schedule_assets:
            data = f"Assets {', '.join(dag.schedule_assets)}"
            schedule = f"{dag.schedule.value} or {data}" if dag.schedule.value else data
        lines.append(
            f"{dag.dag_id}: pipeline {dag.pipeline!r}, environment {dag.environment!r}, "
            f"executor {dag.executor} ({dag.runtime}: {dag.python.describe()}), "
            f"schedule {schedule}, {len(dag.tasks)} task(s)"
        )
        width = max((len(t.task_id) for t in dag.tasks), default=0)
        for task in dag.tasks:
            lines.append(f"  {task.task_id:<{width}}  [{task.rule}]  {', '.join(task.nodes)}")
            options = dag.options.get(task.task_id)
            if options and (options.settings or options.resources):
                sources = dict(options.sources)
                shown = [
                    f"{k}={v}s ({sources[k]})" if k in DURATIONS else f"{k}={v!r} ({sources[k]})"
                    for k, v in options.settings
                ]
                if options.resources:
                    shown.append(f"resources={options.resources}")
                lines.append(f"  {'':<{width}}  {', '.join(shown)}")
        for up, down in dag.edges:
            lines.append(f"  {up} >> {down}  via {', '.join(dag.datasets[(up, down)])}")
    return "\n".join(escape(line) for line in lines)


def plan_json(plan: Plan) -> str:
    dags = [
        {
            "dag_id": d.dag_id,
            "file": f"{plan.output}/{d.filename}",
            "pipeline": d.pipeline,
            "environment": d.environment,
            "executor": d.executor,
            "runtime": d.runtime,
            "python": {"kind": d.python.kind, "value": d.python.value},
            "schedule": d.schedule.value or None,
            "tasks": [
                {"task_id": t.task_id, "nodes": list(t.nodes), "rule": t.rule} for t in d.tasks
            ],
            "edges": [
                {"upstream": u, "downstream": v, "datasets": list(d.datasets[(u, v)])}
                for u, v in d.edges
            ],
        }
        for d in plan.dags
    ]
    return json.dumps({"dags": dags}, indent=2, sort_keys=True)


def _plan(result: Build, args: argparse.Namespace) -> int:
    if args.against:
        from .gitio import committed_files
        from .review import summarize, summary_json, summary_markdown, summary_text

        where = Location(result.manifest_file)
        old = committed_files(result.out_dir, args.against, result.owner, where)
        summary = summarize(old, result.files)
        if args.format == "json":
            print(summary_json(summary))
        elif args.format == "markdown":
            print(summary_markdown(summary, args.against))
        else:
            print(summary_text(summary, args.against))
        return OK
    assert result.plan is not None
    print(plan_json(result.plan) if args.format == "json" else plan_text(result.plan))
    return OK


COMMANDS = {
    "compile": (_compile, "write the DAG files into the output directory"),
    "check": (_check, "exit 1 with a diff when the DAG files are not what compile would write"),
    "validate": (_validate, "check the manifest against the project; write nothing"),
    "plan": (_plan, "show each DAG's tasks, their nodes and the rule that placed them"),
}
EXITS = {
    "compile": "0 done\n  1 a file was written or removed (with --exit-non-zero-on-change)",
    "check": "0 up to date\n  1 out of date (the diff is on stdout)",
    "validate": "0 valid",
    "plan": "0 shown",
}
EXAMPLES = {
    "compile": "kedro-gitops compile --exit-non-zero-on-change",
    "check": "kedro-gitops check --manifest deploy/pipelines.deploy.yaml",
    "validate": "kedro-gitops validate --format json",
    "plan": "kedro-gitops plan --against origin/main --format markdown",
}


def parser(prog: str = "kedro-gitops") -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog=prog,
        description="Compile pipelines.deploy.yaml and a Kedro project into Airflow DAG files.",
        epilog=f"example: {prog} compile; `{prog} COMMAND --help` for each command",
    )
    root.add_argument("--version", action="version", version=f"kedro-gitops {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        example = EXAMPLES[name].replace("kedro-gitops", prog, 1)
        cmd = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=f"exit codes:\n  {EXITS[name]}\n  2 invalid manifest or project (diagnostics "
            f"are printed)\n  3 internal error (a bug)\n\nexample:\n  {example}",
        )
        cmd.add_argument(
            "--manifest",
            type=Path,
            default=None,
            help="manifest path (default: pipelines.deploy.yaml in this folder or the nearest "
            "one above it)",
        )
        cmd.add_argument(
            "--format",
            choices=("text", "json", "markdown") if name == "plan" else ("text", "json"),
            default="text",
            help="text, json, or markdown (a pull request comment; with --against)"
            if name == "plan"
            else "text or json (the diagnostics)",
        )
        cmd.add_argument(
            "--no-cache",
            action="store_true",
            help="read the Kedro project even when its cached snapshot is current",
        )
        if name == "plan":
            cmd.add_argument(
                "--against",
                metavar="REV",
                help="summarise how the DAGs differ from those committed at this git revision",
            )
        if name == "compile":
            cmd.add_argument(
                "--exit-non-zero-on-change",
                action="store_true",
                help="exit 1 when a file was written or removed (for pre-commit hooks)",
            )
    from . import migrate, starter  # write a manifest for a Kedro project, then compile it

    starter.add_parser(sub, prog)
    migrate.add_parser(sub, prog)
    return root


def main(argv: Sequence[str] | None = None, prog: str = "kedro-gitops") -> int:
    args = parser(prog).parse_args(argv)
    try:
        if args.command not in COMMANDS:  # init, migrate
            return int(args.setup(args))
        handler = COMMANDS[args.command][0]
        need_plan = args.command in ("plan", "validate")
        manifest = args.manifest or find_manifest(Path.cwd())
        result = build(manifest, use_cache=not args.no_cache, need_plan=need_plan)
        _report(result.diagnostics, "text" if args.command == "plan" else args.format)
        return handler(result, args)
    except CompileError as exc:
        _report(exc.diagnostics, args.format)
        return INVALID
    except Exception as exc:  # anything else is our bug, not the user's input
        print(f"kedro-gitops: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return INTERNAL


def run() -> NoReturn:
    """The console script. A one-shot process: it makes no garbage worth a cyclic collection
    (skipping them is a tenth of a large compile), and leaves without tearing its heap down."""
    gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
