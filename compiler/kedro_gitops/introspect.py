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

import gc
import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

IMPORT_FAILURE = "An error occurred while importing"
MEMORY_PATTERN = {"{default}": {"type": "kedro.io.MemoryDataset"}}  # what Kedro makes of the rest


def _first_and_last(message: str) -> str:
    """`find_pipelines` warns with a whole traceback: keep its first line and the error itself."""
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if len(lines) < 2 else f"{lines[0]} {lines[-1].strip()}"


def _node(node: Any) -> dict[str, Any]:
    return {
        "name": node.name,
        "namespace": node.namespace,
        "tags": sorted(node.tags),
        "inputs": list(node.inputs),
        "outputs": list(node.outputs),
    }


def _pipelines(wanted: set[str]) -> dict[str, list[dict[str, Any]] | None]:
    """Every registered pipeline by name, with its nodes (in run order) when it is wanted."""
    from kedro.framework.project import pipelines

    return {
        name: [_node(n) for n in pipeline.nodes] if name in wanted else None
        for name, pipeline in dict(pipelines).items()
        if pipeline is not None
    }


def _without_credentials(config: Any) -> Any:
    """A dataset's config minus its credentials, which the dataset type never depends on."""
    if not isinstance(config, dict):
        return config
    return {k: _without_credentials(v) for k, v in config.items() if k != "credentials"}


def _dataset_types(catalog: dict[str, Any], used: set[str]) -> dict[str, str]:
    """The type of every catalog entry and of every used dataset a factory pattern creates.

    Patterns are matched by Kedro's own resolver, so they rank as they do in `kedro run`; a used
    dataset that no entry or pattern names is left out: Kedro keeps it in memory.
    """
    from kedro.io.catalog_config_resolver import CatalogConfigResolver

    is_pattern = CatalogConfigResolver.is_pattern
    entries = {k: v for k, v in catalog.items() if not k.startswith("_") and isinstance(v, dict)}
    types = {name: str(c.get("type", "")) for name, c in entries.items() if not is_pattern(name)}
    patterns = {k: _without_credentials(v) for k, v in entries.items() if is_pattern(k)}
    if not patterns:
        return types
    resolver = CatalogConfigResolver(config=patterns, default_runtime_patterns=MEMORY_PATTERN)
    match, catch_all = resolver.match_dataset_pattern, resolver.match_user_catch_all_pattern
    for name in sorted(used - types.keys()):
        pattern = match(name) or catch_all(name)
        if pattern is not None:
            type_ = str(patterns[pattern].get("type", ""))
            types[name] = str(resolver.resolve_pattern(name)["type"]) if "{" in type_ else type_
    return types


def _environment(
    project: Path, env: str, conf_source: str | None, pipelines: dict[str, Any]
) -> dict[str, Any]:
    """Catalog and parameters of one environment, as `kedro run --env` would load them."""
    from kedro.config import MissingConfigException
    from kedro.framework.project import settings

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(project / (conf_source or settings.CONF_SOURCE)),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    config: dict[str, dict[str, Any]] = {}
    for key in ("catalog", "parameters"):
        try:
            config[key] = loader[key]
        except (KeyError, MissingConfigException):
            config[key] = {}
    used = {
        dataset
        for nodes in pipelines.values()
        for node in nodes or ()
        for dataset in (*node["inputs"], *node["outputs"])
    }
    return {
        "pipelines": pipelines,
        "datasets": dict(sorted(_dataset_types(config["catalog"], used).items())),
        "parameters": sorted(config["parameters"]),
    }


def snapshot(project: Path, specs: dict[str, dict[str, Any]], wanted: set[str]) -> dict[str, Any]:
    """Snapshot every requested (env, conf_source) of the project without running a node."""
    import kedro
    from kedro.framework.project import validate_settings
    from kedro.framework.startup import bootstrap_project

    metadata = bootstrap_project(project)
    validate_settings()
    with warnings.catch_warnings(record=True) as caught:  # the project's warnings are its own
        warnings.simplefilter("always")
        pipelines = _pipelines(wanted)
        environments = {
            key: _environment(project, spec["env"], spec.get("conf_source"), pipelines)
            for key, spec in sorted(specs.items())
        }
    broken = [_first_and_last(str(w.message)) for w in caught if IMPORT_FAILURE in str(w.message)]
    if broken:
        raise ImportError("\n".join(broken))
    return {
        "kedro_version": kedro.__version__,
        "package_name": metadata.package_name,
        "environments": environments,
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
    # A short-lived process: loading a large project makes no garbage worth a cyclic collection,
    # and tearing the loaded project down at exit would cost as much as a fifth of the run.
    gc.disable()
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
