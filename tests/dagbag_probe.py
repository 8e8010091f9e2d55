"""Load each folder under ROOT as Airflow's dag-processor would: import it (DagBag), serialize
every DAG and read it back, compute its first scheduled run and its dag_hash (Airflow's own:
sorted, fileloc left out). Prints one JSON line:
{"dags": <DAGs loaded>, "errors": {<folder/file>: <error>}, "hashes": {<folder/dag_id>: <hash>}}.

    python dagbag_probe.py ROOT
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

sys.modules["kedro"] = None  # type: ignore[assignment]  # Kedro must not be needed to parse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.models.serialized_dag import SerializedDagModel  # noqa: E402
from airflow.serialization.serialized_objects import DagSerialization  # noqa: E402


def main(root: str) -> None:
    errors: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        bag = DagBag(dag_folder=str(folder))
        for path, error in bag.import_errors.items():
            errors[f"{folder.name}/{Path(path).name}"] = str(error)[-2000:]
        for dag in bag.dags.values():
            key = f"{folder.name}/{dag.dag_id}"
            try:
                serialized = DagSerialization.to_dict(dag)
                hashes[key] = SerializedDagModel.hash(serialized)
                DagSerialization.from_dict(serialized).next_dagrun_info(
                    last_automated_run_info=None
                )
            except Exception:
                errors[key] = traceback.format_exc()[-2000:]
    print(json.dumps({"dags": len(hashes), "errors": errors, "hashes": hashes}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
