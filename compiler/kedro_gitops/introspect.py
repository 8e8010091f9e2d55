"""Read a Kedro project into plain JSON. The only module that imports Kedro.

Runs as a script in the Kedro project's own interpreter (which need not have kedro-gitops
installed), so it imports nothing but Kedro and the standard library:

    python introspect.py PROJECT_DIR OUT_JSON ENV_SPEC_JSON PIPELINES_JSON [CALLBACKS_JSON]

ENV_SPEC_JSON maps a snapshot key to `{"env": ..., "conf_source": ..., "vars": {...}}` (`vars`:
environment variables the tasks get, set while that environment's config is read); PIPELINES_JSON
lists the pipelines whose nodes are wanted (the others are listed by name only); CALLBACKS_JSON the
notification targets (`module:name`) to look up. On success OUT_JSON holds `{"kedro_version",
"package_name", "callbacks": {target: problem or ""}, "environments": {key: {"pipelines",
"datasets", "local_paths", "locations", "parameters", "parameter_values", "parameter_paths",
"conf_envs", "conf_missing", "catalog_files"}}}`; on failure `{"error": message}` and the exit
code is 1.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import importlib.util
import inspect
import json
import os
import re
import sys
import tarfile
import traceback
import warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

IMPORT_FAILURE = "An error occurred while importing"
CATALOG_PATTERNS = ["catalog*", "catalog*/**", "**/catalog*"]  # OmegaConfigLoader's default
CONFIG_SUFFIXES = (".yml", ".yaml", ".json")  # the files a config loader reads
MEMORY_PATTERN = {"{default}": {"type": "kedro.io.MemoryDataset"}}  # what Kedro makes of the rest


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)


def _in_environment(path: Path) -> bool:
    """True for installed code: a site-packages folder or anything inside a virtual environment."""
    if {"site-packages", "dist-packages"} & set(path.parts):
        return True
    return any((parent / "pyvenv.cfg").is_file() for parent in path.parents)


def user_frame(frames: list[tuple[str, int]], project: Path) -> str:
    """` (at src/x/pipeline.py:3)` for the last frame in the project's own code, or ''."""
    for filename, lineno in reversed(frames):
        source = _project_file(filename, project)
        if source is not None:
            return f" (at {source}:{lineno})"
    return ""


def _import_failure(message: str, project: Path) -> str:
    """`find_pipelines` warns with a whole traceback: its first line, the error that caused it,
    and where in the project's code that error was raised."""
    lines = [line for line in message.splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else message
    frames = [(m["file"], int(m["line"])) for m in _FRAME.finditer(message)]
    return f"{lines[0]} {lines[-1].strip()}{user_frame(frames, project)}"


def _root_cause(exc: BaseException) -> BaseException:
    """The exception at the bottom of a chain (`raise ... from exc` or raised while handling)."""
    seen = {id(exc)}
    while (exc.__cause__ or exc.__context__) is not None:
        cause = exc.__cause__ or exc.__context__
        assert cause is not None
        if id(cause) in seen:
            break
        seen.add(id(cause))
        exc = cause
    return exc


def describe_failure(exc: BaseException, project: Path) -> str:
    """One line: the error, its root cause when it wraps one, and the project file and line."""
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    cause = _root_cause(exc)
    if cause is not exc:
        message += ": " + "".join(traceback.format_exception_only(type(cause), cause)).strip()
    where = [
        user_frame(
            [(f.filename, f.lineno or 0) for f in traceback.extract_tb(e.__traceback__)], project
        )
        for e in (cause, exc)
    ]
    return message + (where[0] or where[1])


def function_source(func: Any, project: Path) -> dict[str, Any]:
    """Where a node's function is defined: `func` (module and qualified name), and `source`
    (relative to the project) and `line` when its code is in the project's own files. Partials
    and decorated functions are followed to the function they wrap; builtins, callable objects
    and installed code keep what can be known without an absolute path."""
    seen = 0
    while isinstance(func, functools.partial) and seen < 100:
        func, seen = func.func, seen + 1
    with contextlib.suppress(ValueError):  # a cycle of __wrapped__
        func = inspect.unwrap(func)
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    found: dict[str, Any] = {"func": f"{module}.{name}" if module else str(name)}
    code = getattr(func, "__code__", None)
    if code is not None and code.co_filename.endswith(".py"):  # a function: no source read
        filename, line = code.co_filename, code.co_firstlineno
    else:
        try:
            filename = inspect.getsourcefile(func) or ""
            line = inspect.getsourcelines(func)[1] if filename else 0
        except (TypeError, OSError):  # builtins, C extensions, code without a file
            return found
    source = _project_file(filename, project) if filename else None
    if source is not None:
        found.update(source=source, line=line)
    return found


@functools.cache
def _project_file(filename: str, project: Path) -> str | None:
    """`filename` relative to the project when it is the project's own code (not installed)."""
    path = Path(filename).resolve()
    if path.is_relative_to(project) and not _in_environment(path):
        return path.relative_to(project).as_posix()
    return None


def _node(node: Any, project: Path) -> dict[str, Any]:
    return {
        "name": node.name,
        "namespace": node.namespace,
        "tags": sorted(node.tags),
        "inputs": list(node.inputs),
        "outputs": list(node.outputs),
        **function_source(getattr(node, "func", None), project),
    }


def _pipelines(wanted: set[str], project: Path) -> dict[str, list[dict[str, Any]] | None]:
    """Every registered pipeline by name, with its nodes (in run order) when it is wanted."""
    from kedro.framework.project import pipelines

    return {
        name: [_node(n, project) for n in pipeline.nodes] if name in wanted else None
        for name, pipeline in dict(pipelines).items()
        if pipeline is not None
    }


def _without_credentials(config: Any) -> Any:
    """A dataset's config minus its credentials, which the dataset type never depends on."""
    if not isinstance(config, dict):
        return config
    return {k: _without_credentials(v) for k, v in config.items() if k != "credentials"}


def _filled(config: Any, fields: dict[str, Any]) -> Any:
    """A factory pattern's config with the fields a dataset name matched filled in (as Kedro's
    `CatalogConfigResolver` fills them: strings in dicts, lists and tuples)."""
    if isinstance(config, dict):
        return {k: _filled(v, fields) for k, v in config.items()}
    if type(config) in (list, tuple):
        return [_filled(v, fields) for v in config]
    if isinstance(config, str) and "}" in config:
        return config.format_map(fields)
    return config


def _catalog_entries(
    catalog: dict[str, Any], used: set[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The catalog entry of every explicit dataset and of every used dataset a factory pattern
    creates: as written (a pattern's entry, with `type` filled in) and with every placeholder
    filled in for the dataset. Credentials are left out of patterns.

    Patterns rank as Kedro's resolver ranks them (`list_patterns`), so a dataset gets the entry
    `kedro run` gives it; each is compiled once, which keeps 10,000 datasets cheap. A used
    dataset that no entry or pattern names is left out: Kedro keeps it in memory.
    """
    import parse  # type: ignore[import-untyped]  # Kedro's own pattern matcher
    from kedro.io.catalog_config_resolver import CatalogConfigResolver

    is_pattern = CatalogConfigResolver.is_pattern
    entries = {k: v for k, v in catalog.items() if not k.startswith("_") and isinstance(v, dict)}
    written = {name: c for name, c in entries.items() if not is_pattern(name)}
    filled = dict(written)
    patterns = {k: _without_credentials(v) for k, v in entries.items() if is_pattern(k)}
    if not patterns:
        return written, filled
    resolver = CatalogConfigResolver(config=patterns, default_runtime_patterns=MEMORY_PATTERN)
    ranked = [(p, parse.compile(p)) for p in resolver.list_patterns() if p in patterns]
    for name in sorted(used - written.keys()):
        for pattern, parser in ranked:
            match = parser.parse(name)
            if match is not None:
                filled[name] = _filled(patterns[pattern], match.named)
                written[name] = {**patterns[pattern], "type": filled[name].get("type")}
                break
    return written, filled


def _is_local_relative(path: Any) -> bool:
    """A filesystem path relative to the working directory: no scheme, not absolute."""
    if not isinstance(path, str) or not path or "://" in path:
        return False
    return not (path.startswith(("/", "~", "{")) or re.match(r"^[A-Za-z]:[\\/]", path))


def _local_paths(entries: dict[str, dict[str, Any]], used: set[str]) -> dict[str, str]:
    """The relative local path of every used dataset that has one (a factory's path template
    for datasets a pattern creates): on a worker it resolves against the task's directory."""
    paths = {}
    for name in sorted(used & entries.keys()):
        path = entries[name].get("filepath", entries[name].get("path"))
        if _is_local_relative(path):
            paths[name] = str(path)
    return paths


def without_userinfo(location: str) -> str:
    """A location with any `user:password@` of its URI removed: credentials never leave the
    project (a catalog may hold them inline; the credentials config is never read)."""
    scheme, sep, rest = location.partition("://")
    if not sep:
        return location
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


def _locations(entries: dict[str, dict[str, Any]], used: set[str]) -> dict[str, str]:
    """Where every used dataset with an entry stores its data: its `filepath`, `path` or `table`,
    without credentials."""
    found = {}
    for name in sorted(used & entries.keys()):
        entry = entries[name]
        location = next((entry[k] for k in ("filepath", "path", "table") if k in entry), None)
        if isinstance(location, str) and location:
            found[name] = without_userinfo(location)
    return found


def conf_envs(conf_root: Path) -> list[str] | None:
    """The environment folders of a conf source (a folder, a .tar.gz or a .zip); None when the
    conf source itself does not exist."""
    if conf_root.is_dir():
        return sorted(p.name for p in conf_root.iterdir() if p.is_dir())
    names: list[str] = []
    if conf_root.is_file() and conf_root.name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(conf_root) as archive:
            names = archive.getnames()
    elif conf_root.is_file() and conf_root.suffix == ".zip":
        with zipfile.ZipFile(conf_root) as archive:
            names = archive.namelist()
    else:
        return None
    # An archive holds `<root>/<env>/...` (what `kedro package` writes) or `<env>/...`.
    parts = [PurePosixPath(n).parts for n in names]
    tops = {p[0] for p in parts if len(p) > 1}
    nested = {p[1] for p in parts if len(p) > 2}
    return sorted(nested if len(tops) == 1 and nested else tops)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A config loader's glob as a regex on `/`-separated paths: `**/` is any folders or none,
    `**` anything, `*` and `?` stay within one path part."""
    parts = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    pieces = re.split(r"(\*\*/?|\*|\?)", pattern)
    return re.compile("".join(parts.get(p, re.escape(p)) for p in pieces))


def catalog_files(project: Path, folder: Path, patterns: list[str]) -> list[str]:
    """The catalog files of an environment's conf folder, as the config loader finds them
    (hidden files left out), relative to the project when inside it; [] for an archive."""
    if not folder.is_dir():
        return []
    regexes = [_glob_regex(p) for p in patterns]
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if (
            path.suffix in CONFIG_SUFFIXES
            and path.is_file()
            and not relative.startswith(".")
            and "/." not in relative
            and any(r.fullmatch(relative) for r in regexes)
        ):
            found.append(path.relative_to(project) if path.is_relative_to(project) else path)
    return [p.as_posix() for p in found]


def _environment(project: Path, spec: dict[str, Any], pipelines: dict[str, Any]) -> dict[str, Any]:
    """Catalog and parameters of one environment, as `kedro run --env` would load them; an
    environment the conf source does not have is reported, not read as an empty catalog."""
    from kedro.config import MissingConfigException
    from kedro.framework.project import settings

    env, conf_source = spec["env"], spec.get("conf_source")
    conf_root = project / (conf_source or settings.CONF_SOURCE)
    available = conf_envs(conf_root)
    base = getattr(settings, "CONFIG_LOADER_ARGS", {}).get("base_env", "base")
    if available is None or env not in {*available, base}:
        return {"pipelines": pipelines, "datasets": {}, "local_paths": {}, "locations": {},
                "parameters": [],
                "conf_envs": available or [], "conf_missing": True,
                "catalog_files": []}  # fmt: skip
    saved = {k: os.environ.get(k) for k in spec.get("vars", {})}
    os.environ.update(spec.get("vars", {}))
    try:
        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=str(conf_root), env=env, **settings.CONFIG_LOADER_ARGS
        )
        config: dict[str, dict[str, Any]] = {}
        for key in ("catalog", "parameters"):
            try:
                config[key] = loader[key]
            except (KeyError, MissingConfigException):
                config[key] = {}  # the environment exists and has no such file
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    used = {
        dataset
        for nodes in pipelines.values()
        for node in nodes or ()
        for dataset in (*node["inputs"], *node["outputs"])
    }
    entries, filled = _catalog_entries(config["catalog"], used)
    return {
        "pipelines": pipelines,
        "datasets": {name: str(entries[name].get("type", "")) for name in sorted(entries)},
        "local_paths": _local_paths(entries, used),
        "locations": _locations(filled, used),
        "parameters": sorted(config["parameters"]),
        "conf_envs": available,
        "conf_missing": False,
        **_parameter_values(config["parameters"], spec.get("params", [])),
        "catalog_files": catalog_files(
            project,
            conf_root / env,
            list(getattr(loader, "config_patterns", {}).get("catalog", CATALOG_PATTERNS)),
        ),
    }


def _parameter_paths(value: Any, prefix: str = "") -> list[str]:
    """Every dotted path of a parameters mapping: `a`, `a.b`, ..."""
    found = []
    for key, item in value.items() if isinstance(value, dict) else ():
        path = f"{prefix}{key}"
        found.append(path)
        if len(found) < 10_000:
            found += _parameter_paths(item, path + ".")
    return found


def _parameter_values(parameters: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The values of the named parameters (dotted paths), each kept when it is JSON data, and
    every parameter's dotted path; the values of the others never leave the project."""
    values = {}
    for name in names:
        value: Any = parameters
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            try:
                values[name] = json.loads(json.dumps(value, allow_nan=False))
            except (TypeError, ValueError):  # a Python object, NaN: not JSON data
                values[name] = {"__kedro_gitops_unsupported__": type(value).__name__}
    return {"parameter_values": values, "parameter_paths": _parameter_paths(parameters)[:10_000]}


def _defines(path: str, name: str) -> bool:
    """True unless the module source at `path` surely has no top-level `name` (read, not run)."""
    tree = ast.parse(Path(path).read_bytes())
    found: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            found |= {(a.asname or a.name).split(".")[0] for a in statement.names}
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:  # `if`, `try`, `with`...: names defined inside are not followed
            found |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
    return bool({name, "*", "__getattr__"} & found)


def callback_problem(target: str) -> str:
    """Why `module:name` cannot be a callback ('' when it can): the module is looked up (its
    parent packages imported) but not run; its source is read for a top-level `name`."""
    module, _, name = target.partition(":")
    try:
        spec = importlib.util.find_spec(module)
    except Exception as exc:  # a parent package that fails to import, or is no package
        return f"looking up module `{module}` failed: {type(exc).__name__}: {exc}"
    if spec is None:
        return f"the project's interpreter finds no module `{module}`"
    origin = spec.origin or ""
    first = name.split(".")[0]
    if origin.endswith(".py") and not _defines(origin, first):
        return f"module `{module}` defines no `{first}`"
    return ""


def snapshot(project: Path, specs: dict[str, dict[str, Any]], wanted: set[str]) -> dict[str, Any]:
    """Snapshot every requested (env, conf_source) of the project without running a node."""
    import kedro
    from kedro.framework.project import validate_settings
    from kedro.framework.startup import bootstrap_project

    metadata = bootstrap_project(project)
    validate_settings()
    with warnings.catch_warnings(record=True) as caught:  # the project's warnings are its own
        warnings.simplefilter("always")
        pipelines = _pipelines(wanted, project)
        environments = {
            key: _environment(project, spec, pipelines) for key, spec in sorted(specs.items())
        }
    broken = [
        _import_failure(str(w.message), project) for w in caught if IMPORT_FAILURE in str(w.message)
    ]
    if broken:
        raise ImportError("; ".join(broken))
    return {
        "kedro_version": kedro.__version__,
        "package_name": metadata.package_name,
        "environments": environments,
    }


def main(argv: list[str]) -> int:
    project, out, specs = Path(argv[0]).resolve(), Path(argv[1]), json.loads(argv[2])
    wanted = set(json.loads(argv[3]))
    callbacks = json.loads(argv[4]) if len(argv) > 4 else []
    try:
        result = snapshot(project, specs, wanted)
        result["callbacks"] = {target: callback_problem(target) for target in callbacks}
    except BaseException as exc:  # the project's own code can raise anything
        message = describe_failure(exc, project)
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
