"""Read a Kedro project into plain JSON. The only module that imports Kedro.

Runs as a script in the Kedro project's own interpreter (which need not have kedro-gitops
installed), so it imports nothing but Kedro and the standard library:

    python introspect.py PROJECT_DIR OUT_JSON ENV_SPEC_JSON PIPELINES_JSON

ENV_SPEC_JSON maps a snapshot key to `{"env": ..., "conf_source": ...}`; PIPELINES_JSON lists the
pipelines whose nodes are wanted (the others are listed by name only). On success OUT_JSON holds
`{"kedro_version", "package_name", "environments": {key: {"pipelines", "datasets",
"parameters"}}}`; on failure `{"error": message}` and the exit code is 1.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

IMPORT_FAILURE = "An error occurred while importing"


def _first_and_last(message: str) -> str:
    """`find_pipelines` warns with a whole traceback: keep its first line and the error itself."""
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if len(lines) < 2 else f"{lines[0]} {lines[-1].strip()}"


def _skip_node_sources() -> None:
    """kedro-gitops never uses where a node's function is defined, and looking it up (reading and
    tokenising the source of every node) is most of a snapshot's cost on large projects. Only an
    optimisation: if a Kedro release renames the helper, the snapshot is just slower."""
    from kedro.inspection import snapshot as kedro_snapshot

    def no_source(func: Any, resolved_project_path: Path) -> None:
        return None

    if hasattr(kedro_snapshot, "_resolve_node_source"):
        kedro_snapshot._resolve_node_source = no_source


def _environment(
    project: Path, metadata: Any, env: str, conf_source: str | None, wanted: set[str]
) -> Any:
    from kedro.inspection import get_project_snapshot

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snap = get_project_snapshot(
            project,
            env=env,
            conf_source=str(project / conf_source) if conf_source else None,
            metadata=metadata,
        )
    broken = [_first_and_last(str(w.message)) for w in caught if IMPORT_FAILURE in str(w.message)]
    if broken:
        raise ImportError("\n".join(broken))
    return {
        "pipelines": {
            p.name: [
                {
                    "name": n.name,
                    "namespace": n.namespace,
                    "tags": sorted(n.tags),
                    "inputs": list(n.inputs),
                    "outputs": list(n.outputs),
                }
                for n in p.nodes
            ]
            if p.name in wanted
            else None
            for p in snap.pipelines
        },
        "datasets": {name: ds.type for name, ds in sorted(snap.datasets.items())},
        "parameters": sorted(snap.parameters),
    }


def snapshot(project: Path, specs: dict[str, dict[str, Any]], wanted: set[str]) -> dict[str, Any]:
    """Snapshot every requested (env, conf_source) of the project without running a node."""
    import kedro
    from kedro.framework.project import validate_settings
    from kedro.framework.startup import bootstrap_project

    metadata = bootstrap_project(project)
    validate_settings()
    _skip_node_sources()
    return {
        "kedro_version": kedro.__version__,
        "package_name": metadata.package_name,
        "environments": {
            key: _environment(project, metadata, spec["env"], spec.get("conf_source"), wanted)
            for key, spec in sorted(specs.items())
        },
    }


def main(argv: list[str]) -> int:
    project, out, specs = Path(argv[0]).resolve(), Path(argv[1]), json.loads(argv[2])
    wanted = set(json.loads(argv[3]))
    try:
        result = snapshot(project, specs, wanted)
    except BaseException as exc:  # the project's own code can raise anything
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if Path(f.filename).resolve().is_relative_to(project)
        ]
        if frames:
            where = Path(frames[-1].filename).resolve().relative_to(project)
            message += f" (at {where.as_posix()}:{frames[-1].lineno})"
        out.write_text(json.dumps({"error": message}), encoding="utf-8")
        return 1
    out.write_text(json.dumps(result, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
