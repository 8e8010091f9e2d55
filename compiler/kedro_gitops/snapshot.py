"""ProjectSnapshot: the plain data read from a Kedro project (pure; no Kedro import)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

MEMORY_TYPES = frozenset({"MemoryDataset", "SharedMemoryDataset"})


def base_name(dataset: str) -> str:
    """The dataset a transcoded name refers to: `x@pandas` and `x@spark` are both `x`."""
    return dataset.split("@", 1)[0]


def is_parameter(dataset: str) -> bool:
    return dataset == "parameters" or dataset.startswith("params:")


@dataclass(frozen=True)
class Node:
    name: str
    namespace: str | None
    tags: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    func: str = ""  # `module.qualname` of the node's function ('' in older snapshots)
    source: str = ""  # its file, relative to the project ('' outside the project's own code)
    line: int = 0  # the line its definition starts on (0: unknown)


@dataclass(frozen=True)
class EnvSnapshot:
    """Pipelines and catalog of a project under one Kedro environment."""

    pipelines: dict[str, tuple[Node, ...]]  # the pipelines whose nodes were asked for
    datasets: dict[str, str]
    parameters: tuple[str, ...]
    pipeline_names: tuple[str, ...] = ()  # every registered pipeline
    local_paths: dict[str, str] = field(default_factory=dict)  # relative filesystem paths
    conf_envs: tuple[str, ...] = ()  # the environment folders of the conf source
    conf_missing: bool = False  # the conf source has no folder for this environment
    catalog_files: tuple[str, ...] = ()  # its conf folder's catalog files, project-relative
    # The values of the parameters the manifest names (JSON data, by dotted path), and every
    # parameter's dotted path (for did-you-mean hints); empty in older snapshots.
    parameter_values: dict[str, Any] = field(default_factory=dict)
    parameter_paths: tuple[str, ...] = ()
    locations: dict[str, str] = field(default_factory=dict)  # filepath/path/table, no userinfo

    @cached_property
    def _persisted(self) -> frozenset[str]:
        return frozenset(
            base_name(name)
            for name, type_ in self.datasets.items()
            if type_.rsplit(".", 1)[-1] not in MEMORY_TYPES
        )

    def persisted(self, dataset: str) -> bool:
        """True when the catalog stores `dataset` (any transcoding of it) outside memory."""
        return base_name(dataset) in self._persisted

    @cached_property
    def _base_locations(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, location in sorted(self.locations.items()):
            found.setdefault(base_name(name), location)
        return found

    def location(self, dataset: str) -> str | None:
        """Where the catalog stores `dataset`: its own entry's location, else that of the first
        transcoding of it (`x@pandas` for `x`) by name."""
        return self.locations.get(dataset) or self._base_locations.get(base_name(dataset))


@dataclass(frozen=True)
class ProjectSnapshot:
    kedro_version: str
    package_name: str
    environments: dict[str, EnvSnapshot]
    # Notification targets (`module:name`) looked up in the project's interpreter: why each one
    # cannot be imported ('' when it can); a target missing here was not looked up.
    callbacks: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProjectSnapshot:
        envs = {
            key: EnvSnapshot(
                pipelines={
                    name: tuple(
                        Node(
                            n["name"],
                            n.get("namespace"),
                            tuple(n.get("tags", ())),
                            tuple(n.get("inputs", ())),
                            tuple(n.get("outputs", ())),
                            str(n.get("func", "")),
                            str(n.get("source", "")),
                            int(n.get("line", 0)),
                        )
                        for n in nodes
                    )
                    for name, nodes in env["pipelines"].items()
                    if nodes is not None
                },
                datasets=dict(env.get("datasets", {})),
                parameters=tuple(env.get("parameters", ())),
                pipeline_names=tuple(sorted(env["pipelines"])),
                local_paths=dict(env.get("local_paths", {})),
                conf_envs=tuple(env.get("conf_envs", ())),
                conf_missing=bool(env.get("conf_missing", False)),
                catalog_files=tuple(env.get("catalog_files", ())),
                parameter_values=dict(env.get("parameter_values", {})),
                parameter_paths=tuple(env.get("parameter_paths", ())),
                locations=dict(env.get("locations", {})),
            )
            for key, env in data["environments"].items()
        }
        return cls(
            data.get("kedro_version", ""),
            data.get("package_name", ""),
            envs,
            dict(data.get("callbacks", {})),
        )


def env_key(
    kedro_env: str, conf_source: str | None, variables: tuple[tuple[str, str], ...] = ()
) -> str:
    """Key of an environment's entry in a snapshot: the Kedro env, its conf source, and a hash
    of the environment variables its config is read with."""
    key = f"{kedro_env}:{conf_source}" if conf_source else kedro_env
    if variables:
        key += "#" + hashlib.sha256(json.dumps(variables).encode()).hexdigest()[:8]
    return key
