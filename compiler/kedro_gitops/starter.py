"""`kedro-gitops init`: a starter manifest, a pre-commit hook and a CI job for an existing Kedro
project, then one compile. Nothing the user wrote is ever overwritten without `--force`."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diagnostics import CompileError, Diagnostic, Location, escape
from .paths import MANIFEST, repository_root

if TYPE_CHECKING:
    from .snapshot import EnvSnapshot, Node, ProjectSnapshot

DEFAULT_PIPELINE = "__default__"
LOCAL_ENV = "local"  # Kedro's git-ignored environment: credentials and personal settings
ENV_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # an environment name the schema allows
COMMENT_COLUMN = 28
WORKFLOW = ".github/workflows/kedro-gitops.yml"
# docs/ci/github-actions.yml, with the project's place in the repository filled in (a test
# keeps the two the same).
GITHUB_WORKFLOW = """\
# {path}: fail a pull request whose dags/ is stale, and comment the DAG changes.
name: dags
on:
  pull_request:
  push:
    branches: [main]

jobs:
  dags:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0                      # plan --against needs the base branch
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the project and kedro-gitops
        run: pip install {install} "kedro-gitops @ git+<kedro-gitops repository URL>@v0.3.0"
      - name: dags/ matches pipelines.deploy.yaml
        run: kedro-gitops check{manifest}               # exit 1 with a unified diff when stale
      - name: Summarise the DAG changes
        if: github.event_name == 'pull_request'
        run: kedro-gitops plan{manifest} --against "origin/${{ github.base_ref }}" \
--format markdown > dag-changes.md
      - name: Comment on the pull request
        if: github.event_name == 'pull_request'
        env:
          GH_TOKEN: ${{ github.token }}
        run: gh pr comment "${{ github.event.pull_request.number }}" --body-file dag-changes.md \
--edit-last || gh pr comment "${{ github.event.pull_request.number }}" --body-file dag-changes.md
"""


# Shared with `migrate`: find the project, write files without clobbering, compile once.


def say(text: str) -> None:
    """A line for the user, user values escaped: none can start a line of its own."""
    print(escape(text), file=sys.stderr)


def is_kedro_project(folder: Path) -> bool:
    try:
        text = (folder / "pyproject.toml").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^\s*\[tool\.kedro\]", text, re.MULTILINE) is not None


def find_project(start: Path) -> Path:
    """The Kedro project holding `start`: the nearest folder with a pyproject.toml that has a
    `[tool.kedro]` table, found by walking up; CompileError when there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if is_kedro_project(folder):
            return folder
    raise CompileError(
        [
            Diagnostic(
                Location("pyproject.toml"),
                "error",
                "not-a-kedro-project",
                f"no Kedro project in {start} or a folder above it (no pyproject.toml with a "
                "[tool.kedro] table)",
                hint="run it inside a Kedro project; `kedro new` creates one",
            )
        ]
    )


def shown(path: Path) -> str:
    """`path` as the user sees it from the current folder."""
    return os.path.relpath(path, Path.cwd())


def write_new(path: Path, text: str, *, force: bool, note: str = "") -> bool:
    """Write `path` unless it exists (or `force`); say what was done. True when written."""
    existed = path.exists()
    if existed and not force:
        say(f"     kept {shown(path)} (it exists; --force replaces it)")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    verb = "replaced" if existed else "wrote"
    say(f"{verb:>9} {shown(path)}{note}")
    return True


def yaml_value(value: Any) -> str:
    """`value` as one line of YAML (flow style for lists and mappings; JSON, which YAML reads
    too, when a string holds a line break)."""
    import json

    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    text = text.removesuffix("\n...\n").removesuffix("\n")
    return json.dumps(value) if "\n" in text else text


def with_comment(text: str, comment: str) -> str:
    if not comment:
        return text
    pad = max(COMMENT_COLUMN - len(text), 1)
    return f"{text}{' ' * pad}# {escape(comment)}"


def schema_modeline() -> str:
    """The first line: editors with the YAML language server validate and complete the manifest
    against the schema it names (the schema's own `$id`)."""
    from .schema import deploy_schema

    return f"# yaml-language-server: $schema={deploy_schema()['$id']}"


def read_project(
    project: Path, envs: list[str], pipelines: tuple[str, ...], *, use_cache: bool
) -> ProjectSnapshot:
    """The project's snapshot in each of `envs`, with the nodes of `pipelines` (the others are
    listed by name), read in the project's interpreter as a compile reads it."""
    from .project import ProjectRequest, Reading
    from .snapshot import env_key

    specs = tuple(sorted((env_key(env, None), env, None, ()) for env in envs))
    request = ProjectRequest(MANIFEST, ".", None, "dags", specs, pipelines)
    return Reading(request, project, use_cache=use_cache).result()


def compile_once(manifest: Path, args: argparse.Namespace) -> int:
    """Compile `manifest` as `kedro-gitops compile` does; the exit code."""
    from .build import build
    from .cli import INVALID, _compile, _report

    try:
        result = build(manifest, use_cache=not args.no_cache)
        _report(result.diagnostics, args.format)
        return _compile(result, argparse.Namespace(exit_non_zero_on_change=False))
    except CompileError as exc:
        _report(exc.diagnostics, args.format)
        say(
            f"the files written above stay: fix what is reported in {shown(manifest)} or the "
            "project, then run `kedro-gitops compile`"
        )
        return INVALID


# The starter manifest.


def environments(project: Path) -> list[str]:
    """The Kedro environments a DAG can run in: the folders of `conf/` but `local`."""
    conf = project / "conf"
    found = sorted(p.name for p in conf.iterdir() if p.is_dir()) if conf.is_dir() else []
    return [e for e in found if e != LOCAL_ENV and ENV_NAME.fullmatch(e)] or ["base"]


def in_memory_between_tasks(nodes: tuple[Node, ...], catalog: EnvSnapshot) -> list[str]:
    """Datasets one node of the pipeline writes and another reads that the environment's
    catalog does not persist: with a task per node, they would cross a task boundary."""
    from .snapshot import base_name, is_parameter

    produced = {base_name(d) for node in nodes for d in node.outputs}
    return sorted(
        {
            base_name(d)
            for node in nodes
            for d in node.inputs
            if not is_parameter(d) and base_name(d) in produced and not catalog.persisted(d)
        }
    )


def listed(names: list[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def deployed(names: tuple[str, ...]) -> tuple[str, ...]:
    """Every registered pipeline but `__default__`, which usually sums the others (deploying it
    too would run each node twice); `__default__` alone when it is the only one."""
    others = tuple(n for n in names if n != DEFAULT_PIPELINE)
    return others or tuple(n for n in names if n == DEFAULT_PIPELINE)


def starter_manifest(
    snapshot: ProjectSnapshot, envs: list[str], pipelines: list[str], *, has_local: bool
) -> str:
    from .snapshot import env_key

    catalogs = {env: snapshot.environments[env_key(env, None)] for env in envs}
    lines = [
        schema_modeline(),
        "# What kedro-gitops deploys: each entry of `dags` becomes one Airflow DAG per",
        "# environment. Written by `kedro-gitops init`: edit it, then `kedro-gitops plan` shows",
        "# the DAGs and `kedro-gitops compile` writes them into `output`.",
        "version: 1",
        "project:",
        with_comment("  path: .", "this folder: the Kedro project"),
        with_comment("output: dags", "the DAG files, committed with the project"),
        "",
        "# Each task runs `kedro run` for its nodes in a subprocess, with the Airflow worker's",
        "# own interpreter, in this project as the repository's checkout delivers it beside the",
        "# DAG file: the built-in `subprocess` executor. The kedro-gitops README shows the",
        "# others (a KedroSession in the task, Kubernetes pods, Docker, an installed wheel).",
        "",
    ]
    if has_local:
        lines.append("# The Kedro environments under conf/. `local` is left out: it is git-ignored")
        lines.append("# (credentials), so a checkout on an Airflow worker does not have it.")
    else:
        lines.append("# The Kedro environments under conf/.")
    lines.append("environments:")
    lines += [f"  {yaml_value(env)}: {{kedro_env: {yaml_value(env)}}}" for env in envs]
    lines.append("")
    if pipelines == [DEFAULT_PIPELINE]:
        lines.append("# The project registers no pipeline but `__default__`.")
    else:
        lines.append("# Every registered pipeline but `__default__`, which usually sums them:")
        lines.append("# deploying it too would run each node twice.")
    lines += [
        '# `schedule: null` is for manual runs only: set a cron ("0 3 * * *"), a preset',
        "# (@daily) or a duration (6h) to schedule a DAG.",
        "dags:",
    ]
    for name in pipelines:
        lines += [f"  - pipeline: {yaml_value(name)}", "    schedule: null"]
        crossing = {
            env: found
            for env, catalog in catalogs.items()
            if (found := in_memory_between_tasks(catalog.pipelines.get(name, ()), catalog))
        }
        if crossing:
            datasets = sorted({d for found in crossing.values() for d in found})
            where = ", ".join(crossing)
            lines.append(f"    # In memory in {escape(where)}: {escape(listed(datasets))}.")
            lines.append("    # Separate tasks could not pass them on: one task runs the nodes")
            lines.append("    # they join.")
            lines.append("    groups: [{by: memory}]")
    return "\n".join(lines) + "\n"


# The pre-commit hook and the CI job.


def hook_entry(prefix: str, indent: str) -> str:
    """A `repos:` item running kedro-gitops from the environment that runs `git commit`."""
    manifest = f" --manifest {shlex.quote(prefix + MANIFEST)}" if prefix else ""
    files = f"^{re.escape(prefix)}(pipelines\\.deploy\\.yaml$|dags/|conf/|src/|pyproject\\.toml$)"
    rows = [
        ("- repo: local", "kedro-gitops as installed where `git commit` runs;"),
        ("  hooks:", "or its hook repository pinned to a tag (README)"),
        ("    - id: kedro-gitops", ""),
        ("      name: kedro-gitops (regenerate Airflow DAGs)", ""),
        (f"      entry: kedro-gitops compile --exit-non-zero-on-change{manifest}", ""),
        ("      language: system", "`unsupported` since pre-commit 4.4"),
        ("      pass_filenames: false", ""),
        ("      require_serial: true", ""),
        (f"      files: {yaml_value(files)}", ""),
    ]
    return "".join(with_comment(indent + text, note) + "\n" for text, note in rows)


def add_hook(path: Path, prefix: str) -> None:
    """Create `.pre-commit-config.yaml`, or add the hook to its `repos`; never rewrite what is
    there. When the file cannot take it safely, say what to add."""
    import yaml

    if not path.exists():
        write_new(path, "repos:\n" + hook_entry(prefix, "  "), force=False)
        return
    text = path.read_text("utf-8", errors="replace")
    if "kedro-gitops" in text:
        say(f"     kept {shown(path)} (it already runs kedro-gitops)")
        return
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        data = False  # not YAML: leave it alone
    entry = yaml.safe_load(hook_entry(prefix, ""))[0]
    new = None
    if data is None:
        new = text + ("" if text.endswith("\n") or not text else "\n") + "repos:\n"
        new += hook_entry(prefix, "  ")
        data = {}
    elif isinstance(data, dict) and isinstance(data.get("repos"), list):
        items = re.search(r"^repos:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)- ", text, re.M)
        if items:
            new = text + ("" if text.endswith("\n") else "\n") + hook_entry(prefix, items[1])
    try:
        added = yaml.safe_load(new) if new is not None else None
    except yaml.YAMLError:
        added = None
    if isinstance(data, dict) and added == {**data, "repos": [*data.get("repos", []), entry]}:
        assert new is not None
        path.write_text(new, encoding="utf-8")
        say(f"    added the kedro-gitops hook to {shown(path)}")
        return
    say(f"     kept {shown(path)} (could not add the hook safely); add this to its `repos`:")
    for line in hook_entry(prefix, "  ").splitlines():
        say(f"  {line}")


def github_workflow(prefix: str, project: Path) -> str:
    install = shlex.quote(f"./{prefix.rstrip('/')}" if prefix else ".")
    if (project / "requirements.txt").is_file():
        install = "-r " + shlex.quote(f"{prefix}requirements.txt")
    manifest = f" --manifest {shlex.quote(prefix + MANIFEST)}" if prefix else ""
    values = {"{path}": WORKFLOW, "{install}": install, "{manifest}": manifest}
    return re.sub(r"\{(path|install|manifest)\}", lambda m: values[m[0]], GITHUB_WORKFLOW)


def add_workflow(top: Path, prefix: str, project: Path, *, force: bool) -> None:
    path = top / WORKFLOW
    if (top / ".gitlab-ci.yml").is_file() and not path.exists():
        say(
            f"  skipped {shown(path)}: the repository uses GitLab CI; add the `dags` job of "
            "kedro-gitops's docs/ci/gitlab-ci.yml to .gitlab-ci.yml"
        )
        return
    others = sorted((top / ".github" / "workflows").glob("*.y*ml"))
    running = [
        p
        for p in others
        if p != path and "kedro-gitops check" in p.read_text("utf-8", errors="replace")
    ]
    if running and not force:
        say(f"     kept {shown(running[0])} (it already runs kedro-gitops check)")
        return
    note = " (set the kedro-gitops repository URL in its install step)"
    write_new(path, github_workflow(prefix, project), force=force, note=note)


# The command.


def run(args: argparse.Namespace) -> int:
    from .cli import INVALID

    project = find_project(Path.cwd())
    top = repository_root(project) or project
    prefix = "" if top == project else project.relative_to(top).as_posix() + "/"
    manifest = project / MANIFEST
    if manifest.exists() and not args.force:
        say(f"     kept {shown(manifest)} (it exists; --force replaces it)")
    else:
        envs = environments(project)
        names = read_project(project, envs, (), use_cache=not args.no_cache)
        registered = next(iter(names.environments.values())).pipeline_names
        snapshot = read_project(project, envs, deployed(registered), use_cache=not args.no_cache)
        pipelines = [
            name
            for name in deployed(registered)
            if any(catalog.pipelines.get(name) for catalog in snapshot.environments.values())
        ]
        if not pipelines:
            say(
                "kedro-gitops init: the project has no pipeline with nodes yet; create one "
                "(`kedro pipeline create NAME`), then run `kedro-gitops init` again"
            )
            return INVALID
        text = starter_manifest(
            snapshot, envs, pipelines, has_local=(project / "conf" / LOCAL_ENV).is_dir()
        )
        write_new(manifest, text, force=args.force)
    add_hook(top / ".pre-commit-config.yaml", prefix)
    if not args.no_ci:
        add_workflow(top, prefix, project, force=args.force)
    return compile_once(manifest, args)


def add_parser(sub: Any, prog: str) -> None:
    """The `init` subcommand."""
    text = "write a starter pipelines.deploy.yaml, pre-commit hook and CI job, then compile"
    cmd = sub.add_parser(
        "init",
        help=text,
        description=text + ". Run it inside a Kedro project (any folder of it).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="writes, keeping what exists (--force replaces the first two):\n"
        f"  {MANIFEST}, in the project: every registered pipeline but\n"
        "    __default__, every environment of conf/ but local, a memory group where\n"
        "    in-memory datasets join nodes\n"
        f"  {WORKFLOW}, in the repository: `kedro-gitops check` on\n"
        "    pull requests (not with --no-ci, nor in a GitLab repository)\n"
        "  .pre-commit-config.yaml, in the repository: the kedro-gitops hook, added\n"
        "    to an existing file\n\n"
        "exit codes:\n  0 done\n  2 not a Kedro project, no pipeline with nodes yet (nothing is\n"
        "    written), or the compile found errors (the files written stay)\n"
        "  3 internal error (a bug)\n\n"
        f"example:\n  cd my-kedro-project && {prog} init",
    )
    cmd.add_argument(
        "--force",
        action="store_true",
        help=f"replace an existing {MANIFEST} and CI job (.pre-commit-config.yaml is only "
        "ever added to)",
    )
    cmd.add_argument("--no-ci", action="store_true", help=f"do not write {WORKFLOW}")
    cmd.add_argument(
        "--format", choices=("text", "json"), default="text", help="text or json (diagnostics)"
    )
    cmd.add_argument(
        "--no-cache",
        action="store_true",
        help="read the Kedro project even when its cached snapshot is current",
    )
    cmd.set_defaults(setup=run)
