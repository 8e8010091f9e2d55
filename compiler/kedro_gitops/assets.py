"""Airflow Assets: the persisted datasets a DAG writes and reads, and data-aware schedules (pure).

An Asset is named `<package>.<kedro_env>.<dataset>` (a transcoded `x@pandas` is `x`), the same in
every DAG that touches it. Its URI is where the catalog stores the data:
- a URI (`s3://bucket/key`) as written, without any `user:password@`;
- an absolute path (`/data/x.csv`) as `file:///data/x.csv`;
- anything else (a path relative to where `kedro run` runs, a `table`, `~`, a factory placeholder
  left open, no location) as `x-kedro://<package>/<kedro_env>/<dataset>`, which does not depend
  on the machine that compiled it. The `x-` marks a scheme of our own: Airflow leaves it as it
  is instead of loading every provider's URI handlers to look for one that knows it.

`schedule: {after: [dag]}` waits for the final outputs of that DAG: the persisted datasets it
writes and none of its own nodes read (what is there once a run of it has finished).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence

from .diagnostics import Diagnostic, Location, did_you_mean
from .graph import find_cycle
from .resolve import Target
from .snapshot import EnvSnapshot, Node, base_name

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SPACE = re.compile(r"\s")


def asset_name(package: str, kedro_env: str, dataset: str) -> str:
    return f"{package}.{kedro_env}.{base_name(dataset)}"


def _fallback(package: str, kedro_env: str, dataset: str) -> str:
    parts = (package or "project", kedro_env, base_name(dataset))
    return "x-kedro://" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


def asset_uri(package: str, kedro_env: str, dataset: str, location: str | None) -> str:
    """The Asset URI of a dataset stored at `location` (see the module's docstring)."""
    text = location or ""
    if "{" in text or not text.isascii() or _SPACE.search(text):
        return _fallback(package, kedro_env, dataset)
    match = _SCHEME.match(text)
    if match and match.group(1).lower() not in ("airflow", "file"):
        scheme, _, rest = text.partition("://")
        netloc, slash, path = rest.partition("/")
        netloc = netloc.rpartition("@")[2]
        if netloc or path:
            return f"{scheme.lower()}://{netloc}{slash}{path}"
    if match and match.group(1).lower() == "file":
        text = text[len(match.group(0)) :]
        text = "/" + text.lstrip("/") if text.startswith("/") else text
    if text.startswith("/") and len(text) > 1:
        return "file://" + urllib.parse.quote(text.rstrip("/") or "/", safe="/")
    return _fallback(package, kedro_env, dataset)


def producers(targets: Sequence[Target]) -> dict[str, Target]:
    """Every Asset a deployed DAG declares as an outlet, by name: the DAG's target (the first by
    dag_id when several DAGs write it)."""
    found: dict[str, Target] = {}
    for target in sorted(targets, key=lambda t: t.dag_id):
        if target.spec.settings.assets:
            kedro_env = target.environment.kedro_env
            for dataset in writes(target.nodes, target.catalog):
                found.setdefault(asset_name(target.package, kedro_env, dataset), target)
    return found


def writes(nodes: Iterable[Node], catalog: EnvSnapshot) -> list[str]:
    """The persisted datasets `nodes` write, by base name, sorted."""
    return sorted({base_name(d) for n in nodes for d in n.outputs if catalog.persisted(d)})


def reads(nodes: Iterable[Node], catalog: EnvSnapshot) -> list[str]:
    return sorted({base_name(d) for n in nodes for d in n.inputs if catalog.persisted(d)})


def final_outputs(nodes: Sequence[Node], catalog: EnvSnapshot) -> list[str]:
    """The persisted datasets the nodes write and none of them reads."""
    read = set(reads(nodes, catalog))
    return [d for d in writes(nodes, catalog) if d not in read]


def asset_of(target: Target, dataset: str) -> tuple[str, str]:
    """(name, URI) of a dataset of the target's catalog."""
    kedro_env = target.environment.kedro_env
    return (
        asset_name(target.package, kedro_env, dataset),
        asset_uri(target.package, kedro_env, dataset, target.catalog.location(dataset)),
    )


def schedule_assets(
    targets: Sequence[Target],
) -> tuple[dict[str, tuple[tuple[str, str], ...]], list[Diagnostic]]:
    """For every DAG scheduled on data, the Assets (name, URI) it waits for; and the problems:
    unknown DAGs or datasets, a DAG whose schedule waits for itself through other DAGs."""
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    problems: list[Diagnostic] = []
    if not any(t.spec.schedule.after or t.spec.schedule.datasets for t in targets):
        return found, problems
    by_id = {t.dag_id: t for t in targets}
    written = {
        t.dag_id: {
            asset_name(t.package, t.environment.kedro_env, d) for d in writes(t.nodes, t.catalog)
        }
        for t in targets
    }
    waits: dict[str, set[str]] = {t.dag_id: set() for t in targets}
    where: dict[str, Location] = {}
    for target in targets:
        schedule, spec = target.spec.schedule, target.spec
        if not (schedule.after or schedule.datasets):
            continue
        assets: set[tuple[str, str]] = set()
        env = target.environment.name
        for i, name in enumerate(schedule.after):
            at = spec.at(f"schedule.after[{i}]")
            producer = by_id.get(name) or next(
                (t for t in targets if t.spec.pipeline == name and t.environment.name == env),
                None,
            )
            if producer is None:
                names = sorted({*by_id, *(t.spec.pipeline for t in targets)})
                deployed = any(t.spec.pipeline == name for t in targets)
                problems.append(
                    Diagnostic(
                        at,
                        "error",
                        "unknown-dag",
                        f"schedule: pipeline `{name}` is not deployed in environment `{env}`"
                        if deployed
                        else f"schedule: no deployed DAG or pipeline is named `{name}`",
                        hint="name the DAG by its dag_id"
                        if deployed
                        else did_you_mean(name, names),
                    )
                )
                continue
            if not producer.spec.settings.assets:
                problems.append(
                    Diagnostic(
                        at,
                        "error",
                        "no-assets",
                        f"schedule: DAG `{producer.dag_id}` declares no Assets "
                        "(`assets: false`): nothing would tell Airflow it has run",
                        hint=f"remove `assets: false` from DAG `{producer.dag_id}`",
                    )
                )
                continue
            outputs = final_outputs(producer.nodes, producer.catalog)
            if not outputs:
                problems.append(
                    Diagnostic(
                        at,
                        "error",
                        "no-assets",
                        f"schedule: DAG `{producer.dag_id}` writes no persisted dataset that "
                        "it does not read itself: there is nothing to wait for",
                        hint="schedule on `datasets:` instead, or persist its outputs",
                    )
                )
                continue
            assets |= {asset_of(producer, d) for d in outputs}
            waits[target.dag_id].add(producer.dag_id)
        catalog = target.catalog
        for i, name in enumerate(schedule.datasets):
            at = spec.at(f"schedule.datasets[{i}]")
            if base_name(name) not in {base_name(d) for d in catalog.datasets}:
                problems.append(
                    Diagnostic(
                        at,
                        "error",
                        "unknown-dataset",
                        f"schedule: the catalog of environment `{env}` has no dataset `{name}`",
                        hint=did_you_mean(name, catalog.datasets),
                    )
                )
                continue
            if not catalog.persisted(name):
                problems.append(
                    Diagnostic(
                        at,
                        "error",
                        "memory-dataset",
                        f"schedule: `{name}` is kept in memory in environment `{env}`: it is "
                        "no Airflow Asset",
                        hint="schedule on a dataset the catalog persists",
                    )
                )
                continue
            asset = asset_of(target, name)
            assets.add(asset)
            waits[target.dag_id] |= {d for d, names in written.items() if asset[0] in names}
        found[target.dag_id] = tuple(sorted(assets))
        where[target.dag_id] = spec.at("schedule")
    cycle = find_cycle(list(waits), waits)
    if cycle:
        problems.append(
            Diagnostic(
                where[cycle[0]],
                "error",
                "schedule-cycle",
                "the data schedules of these DAGs wait for each other: "
                + " -> ".join(f"`{d}`" for d in cycle),
                hint="remove one DAG from the `after:` or `datasets:` of another",
            )
        )
    return found, problems
