"""Print Airflow's own dag_hash of every DAG in a folder, as the dag-processor computes it
(serialized, sorted, fileloc left out) as one JSON line.

    python dag_hash_probe.py DAG_FOLDER
"""

from __future__ import annotations

import json
import sys

sys.modules["kedro"] = None  # type: ignore[assignment]  # Kedro must not be needed to parse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.models.serialized_dag import SerializedDagModel  # noqa: E402
from airflow.serialization.serialized_objects import DagSerialization  # noqa: E402


def main(folder: str) -> None:
    bag = DagBag(dag_folder=folder)
    hashes = {
        dag.dag_id: SerializedDagModel.hash(DagSerialization.to_dict(dag))
        for dag in bag.dags.values()
    }
    print(json.dumps({"errors": sorted(bag.import_errors), "hashes": hashes}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
