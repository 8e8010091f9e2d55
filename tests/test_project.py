"""Reading a real Kedro project: the snapshot, and the errors a broken project gives."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_gitops.build import load_manifest
from kedro_gitops.cli import INVALID
from kedro_gitops.diagnostics import CompileError
from kedro_gitops.introspect import _catalog_entries
from kedro_gitops.project import read_project
from kedro_gitops.snapshot import env_key

from conftest import kedro_gitops, run


def test_snapshot_of_the_example(checkout: Path) -> None:
    manifest = load_manifest(checkout / "pipelines.deploy.yaml")
    snapshot = read_project(manifest, checkout)
    assert snapshot.package_name == "spaceflights"
    assert snapshot.kedro_version.startswith("1.")
    keys = {
        e.name: env_key(e.kedro_env, e.conf_source, e.env) for e in manifest.environments.values()
    }
    base, prod = snapshot.environments[keys["base"]], snapshot.environments[keys["prod"]]
    names = {n.name for n in base.pipelines["data_science"]}
    assert "active_modelling_pipeline.train_model_node" in names
    # Every registered pipeline is known by name; nodes come only for those the manifest deploys.
    assert base.pipeline_names == ("__default__", "data_processing", "data_science")
    assert sorted(base.pipelines) == ["data_processing", "data_science"]
    assert len(base.pipelines["data_processing"]) + len(base.pipelines["data_science"]) == 9
    train = next(n for n in base.pipelines["data_science"] if n.name.endswith("train_model_node"))
    assert train.namespace in {"active_modelling_pipeline", "candidate_modelling_pipeline"}
    assert "training" in train.tags
    assert not base.persisted("preprocessed_shuttles")
    assert prod.persisted("preprocessed_shuttles")
    assert base.persisted("active_modelling_pipeline.regressor")  # from a dataset factory
    assert not base.persisted("active_modelling_pipeline.X_train")
    # The catalog files each environment has, for hints that name a file that exists.
    assert base.catalog_files == ("conf/base/catalog.yml",)
    assert prod.catalog_files == ("conf/prod/catalog.yml",)


FACTORIES = {
    "companies": {"type": "pandas.CSVDataset", "filepath": "data/companies.csv"},
    "shuttles@pandas": {"type": "pandas.CSVDataset", "filepath": "data/shuttles.csv"},
    "scratch": {"type": "MemoryDataset"},
    "_anchor": {"type": "pandas.CSVDataset"},
    "{namespace}.{name}_model": {
        "type": "pickle.PickleDataset",
        "filepath": "data/{namespace}/{name}.pkl",
        "credentials": "store",  # unknown to kedro-gitops, which never reads credentials
    },
    "{name}_model": {"type": "json.JSONDataset", "filepath": "data/{name}.json"},
    "{fmt}_table.{name}": {"type": "pandas.{fmt}Dataset", "filepath": "data/{name}"},
}
USED = ["companies", "shuttles@pandas", "scratch", "a.b_model", "b_model", "CSV_table.x"]
USED += ["JSON_table.y", "leftover"]


@pytest.mark.parametrize(
    "catch_all", [{}, {"{default}": {"type": "pickle.PickleDataset", "filepath": "{default}.pkl"}}]
)
def test_dataset_types_agree_with_kedros_own_catalog(catch_all: dict[str, Any]) -> None:
    """The most specific factory wins, a type and a path can come from placeholders, and a
    dataset nothing names stays in memory, exactly as in the DataCatalog `kedro run` builds."""
    from kedro.io import DataCatalog

    config = FACTORIES | catch_all
    catalog = DataCatalog.from_config(config, credentials={"store": {}})
    written, filled = _catalog_entries(config, set(USED))
    ours = {k: str(v["type"]) for k, v in written.items()}
    for name in USED:
        theirs = catalog.get_type(name)
        assert (ours.get(name) or "-").rsplit(".", 1)[-1] == (theirs or "-").rsplit(".", 1)[-1]
        if name in filled and name not in config:  # made by a pattern
            resolved = catalog.config_resolver.resolve_pattern(name)
            assert filled[name]["filepath"] == resolved["filepath"], name
    assert filled["a.b_model"]["filepath"] == "data/a/b.pkl"
    assert written["a.b_model"]["filepath"] == "data/{namespace}/{name}.pkl"
    assert "credentials" not in filled["a.b_model"]
    assert ours["a.b_model"] == "pickle.PickleDataset"  # not the less specific `{name}_model`
    assert ours["JSON_table.y"] == "pandas.JSONDataset"
    assert ("leftover" in ours) == bool(catch_all)


def break_file(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(
    ("relative", "addition", "message"),
    [
        (
            "src/spaceflights/settings.py",
            "\nimport not_a_module_at_all\n",
            "No module named 'not_a_module_at_all' (at src/spaceflights/settings.py:",
        ),
        ("conf/base/catalog.yml", "\nbroken: [\n", "catalog.yml"),
        (
            "src/spaceflights/pipelines/data_science/pipeline.py",
            "\nraise RuntimeError('boom')\n",
            "boom (at src/spaceflights/pipelines/data_science/pipeline.py:",
        ),
    ],
)
def test_a_broken_project_is_an_error(
    checkout: Path, relative: str, addition: str, message: str
) -> None:
    break_file(checkout / "examples/spaceflights" / relative, addition)
    proc = kedro_gitops("compile", cwd=checkout)
    assert proc.returncode == INVALID
    assert "error[project-load]" in proc.stderr
    assert message in proc.stderr
    assert not (checkout / "dags").exists()


def test_missing_project_and_interpreter(checkout: Path) -> None:
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "path: examples/spaceflights", "path: examples/spaceflights\n  python: no/such/python"
        )
    )
    with pytest.raises(CompileError, match="cannot run the project's interpreter"):
        read_project(load_manifest(manifest), checkout)
    manifest.write_text(manifest.read_text().replace("path: examples/spaceflights", "path: nope"))
    with pytest.raises(CompileError, match="no Kedro project at `nope`"):
        read_project(load_manifest(manifest), checkout)


FIND_PIPELINES_REGISTRY = """
from kedro.framework.project import find_pipelines


def register_pipelines():
    pipelines = find_pipelines()
    pipelines["__default__"] = sum(pipelines.values())
    return pipelines
"""


def test_a_pipeline_that_fails_to_import_is_an_error_not_a_skipped_pipeline(
    checkout: Path,
) -> None:
    """`find_pipelines` only warns about a broken module; kedro-gitops refuses to go on."""
    package = checkout / "examples/spaceflights/src/spaceflights"
    (package / "pipeline_registry.py").write_text(FIND_PIPELINES_REGISTRY)
    assert kedro_gitops("validate", cwd=checkout).returncode == 0
    break_file(package / "pipelines/data_science/pipeline.py", "\nraise RuntimeError('kaboom')\n")
    proc = kedro_gitops("validate", cwd=checkout)
    assert proc.returncode == INVALID
    assert "'spaceflights.pipelines.data_science' module" in proc.stderr
    assert "RuntimeError: kaboom" in proc.stderr


def test_the_snapshot_is_cached_until_something_it_depends_on_changes(checkout: Path) -> None:
    log = checkout / "interpreter.log"
    wrapper = checkout / "python-wrapper.sh"
    wrapper.write_text(f'#!/bin/sh\necho run >> "{log}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "path: examples/spaceflights",
            "path: examples/spaceflights\n  python: python-wrapper.sh",
        )
    )

    def runs_after(*args: str) -> int:
        assert kedro_gitops(*args, cwd=checkout).returncode in (0, 1)
        return len(log.read_text().splitlines()) if log.exists() else 0

    assert runs_after("compile") == 1
    assert runs_after("check") == 1
    assert runs_after("plan") == 1
    (checkout / "examples/spaceflights/data/01_raw/companies.csv").write_text("id\n1\n")
    assert runs_after("check") == 1, "data files do not change the snapshot"
    catalog = checkout / "examples/spaceflights/conf/base/catalog.yml"
    catalog.write_text(catalog.read_text() + "\n# a comment\n")
    assert runs_after("check") == 2
    node_code = checkout / "examples/spaceflights/src/spaceflights/pipelines/data_science/nodes.py"
    node_code.write_text(node_code.read_text() + "\n")
    assert runs_after("check") == 3
    assert runs_after("check", "--no-cache") == 4


def imports_of(*args: str, cwd: Path) -> set[str]:
    proc = run([sys.executable, "-X", "importtime", "-m", "kedro_gitops", *args], cwd)
    assert proc.returncode == 0, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


def test_a_cached_run_does_not_import_kedro(checkout: Path) -> None:
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    imported = imports_of("check", cwd=checkout)
    assert "kedro_gitops.cli" in imported
    assert not {m for m in imported if m == "kedro" or m.startswith("kedro.")}
    # Nothing changed: the build cache answers, without validating, planning or rendering again.
    assert not imported & {"jsonschema", "jinja2", "kedro_gitops.plan"}
    # `plan` needs the plan itself, so it builds it from the cached snapshot.
    assert "kedro_gitops.plan" in imports_of("plan", cwd=checkout)


def test_the_build_cache_keeps_warnings_and_follows_the_manifest(checkout: Path) -> None:
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "      - by: namespace ",
            "      - {by: tag_prefix, prefix: none.}\n      - by: namespace ",
        )
    )
    for _ in range(2):  # the second run is answered by the build cache
        proc = kedro_gitops("compile", cwd=checkout)
        assert proc.returncode == 0, proc.stderr
        assert "warning[rule-unused]: groups[0] tag_prefix matches no node" in proc.stderr
    manifest.write_text(manifest.read_text().replace('"0 3 * * *"', '"@hourly"'))
    assert kedro_gitops("compile", cwd=checkout).returncode == 0
    assert 'schedule="@hourly"' in (checkout / "dags/data_processing_prod.py").read_text()


@pytest.mark.parametrize("raise_errors", [False, True])
def test_a_failed_pipeline_import_keeps_its_cause_and_points_at_the_users_file(
    checkout: Path, raise_errors: bool
) -> None:
    """Kedro wraps the error (`raise_errors=True`) or warns with a traceback: either way the
    cause and the user's own file and line are reported, never a file of Kedro's inside a
    virtual environment that sits in the project."""
    project = checkout / "examples/spaceflights"
    (project / ".venv").symlink_to(Path(sys.prefix))  # Kedro's own files are under the project
    registry = FIND_PIPELINES_REGISTRY.replace(
        "find_pipelines()", f"find_pipelines(raise_errors={raise_errors})"
    )
    (project / "src/spaceflights/pipeline_registry.py").write_text(registry)
    pipeline = project / "src/spaceflights/pipelines/data_science/pipeline.py"
    lines = pipeline.read_text().splitlines()
    lines.insert(2, "import not_a_module  # noqa: F401")
    pipeline.write_text("\n".join(lines) + "\n")
    manifest = checkout / "pipelines.deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "path: examples/spaceflights",
            "path: examples/spaceflights\n  python: examples/spaceflights/.venv/bin/python",
        )
    )
    proc = kedro_gitops("validate", cwd=checkout)
    assert proc.returncode == INVALID
    assert "No module named 'not_a_module'" in proc.stderr
    assert "(at src/spaceflights/pipelines/data_science/pipeline.py:3)" in proc.stderr
    assert ".venv" not in proc.stderr.replace("examples/spaceflights/.venv/bin/python", "")
