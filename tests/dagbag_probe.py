"""Load each folder under ROOT as Airflow's dag-processor would: import it (DagBag), serialize
every DAG and read it back, and compute its first scheduled run. Prints one JSON line:
{"dags": <DAGs loaded>, "errors": {<folder/file>: <error>}}.

    python dagbag_probe.py ROOT
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

sys.modules["kedro"] = None  # type: ignore[assignment]  # Kedro must not be needed to parse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.serialization.serialized_objects import DagSerialization  # noqa: E402


def main(root: str) -> None:
    errors: dict[str, str] = {}
    loaded = 0
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        bag = DagBag(dag_folder=str(folder))
        for path, error in bag.import_errors.items():
            errors[f"{folder.name}/{Path(path).name}"] = str(error)[-2000:]
        for dag in bag.dags.values():
            try:
                again = DagSerialization.from_dict(DagSerialization.to_dict(dag))
                again.next_dagrun_info(last_automated_run_info=None)
            except Exception:
                errors[f"{folder.name}/{dag.dag_id}"] = traceback.format_exc()[-2000:]
            loaded += 1
    print(json.dumps({"dags": loaded, "errors": errors}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
