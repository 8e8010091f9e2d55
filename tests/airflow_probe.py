"""Load a folder of DAG files with Airflow's own DagBag and print what Airflow sees, as JSON.

Run in a subprocess (it needs AIRFLOW_HOME set before Airflow is imported):
    python airflow_probe.py DAG_FOLDER
"""

from __future__ import annotations

import json
import sys

sys.modules["kedro"] = None  # type: ignore[assignment]  # Kedro must not be needed to parse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402


def _schedule_assets(dag: object) -> tuple:
    return getattr(getattr(getattr(dag, "timetable", None), "asset_condition", None), "objects", ())


def main(folder: str) -> None:
    bag = DagBag(dag_folder=folder)
    dags = {
        dag.dag_id: {
            "file": dag.fileloc.rsplit("/", 1)[-1],
            "tasks": sorted(dag.task_ids),
            "edges": sorted(
                [t.task_id, down] for t in dag.tasks for down in sorted(t.downstream_task_ids)
            ),
            "operators": sorted({type(t).__name__ for t in dag.tasks}),
            "setup": sorted(t.task_id for t in dag.tasks if t.is_setup),
            "timetable": type(dag.timetable).__name__,
            "outlets": {
                t.task_id: sorted(a.name for a in t.outlets) for t in dag.tasks if t.outlets
            },
            "inlets": {t.task_id: sorted(a.name for a in t.inlets) for t in dag.tasks if t.inlets},
            "uris": sorted({a.name: a.uri for t in dag.tasks for a in t.outlets}.items()),
            "schemes": sorted(
                {a.uri.split("://")[0] for t in dag.tasks for a in (*t.outlets, *t.inlets)}
                | {a.uri.split("://")[0] for a in _schedule_assets(dag)}
            ),
            "schedule_assets": sorted(a.name for a in _schedule_assets(dag)),
            "cron": getattr(getattr(dag.timetable, "timetable", None), "expression", None),
        }
        for dag in bag.dags.values()
    }
    result = {
        "import_errors": {k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()},
        "dags": dags,
        "kedro_imported": any(m.startswith("kedro.") for m in sys.modules),
        # a provider's Asset URI handlers (`airflow.providers.<x>.assets.<scheme>`) were imported
        "uri_handlers_loaded": any(
            m.startswith("airflow.providers.") and ".assets." in m for m in sys.modules
        ),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
