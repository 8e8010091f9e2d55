"""Parse cost of DAG files as Airflow 3's DAG processor pays it.

    python bench/parse_probe.py RUNS FILE [FILE ...]

Like the DAG processor, the parent imports Airflow, freezes its heap (gc.freeze) and forks one
child per parse; the child times `DagBag(dag_folder=FILE)`. Files are interleaved run by run.
Prints JSON: {file: [seconds, ...]}; a file that fails to import is reported as an error.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

from airflow.dag_processing.dagbag import DagBag


def parse_once(path: str) -> float:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child parses, reports, and exits without cleanup
        os.close(read)
        start = time.perf_counter()
        bag = DagBag(dag_folder=path)
        elapsed = time.perf_counter() - start
        ok = not bag.import_errors and len(bag.dags) == 1
        os.write(write, json.dumps(elapsed if ok else str(bag.import_errors)).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    if not isinstance(result, float):
        raise SystemExit(f"{path} failed to import: {result}")
    return result


def main(runs: int, files: list[str]) -> None:
    DagBag(dag_folder=os.devnull)  # load the DagBag machinery once, as the processor has
    gc.freeze()
    times: dict[str, list[float]] = {f: [] for f in files}
    for _ in range(runs):
        for path in files:
            times[path].append(parse_once(path))
    print(json.dumps(times))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
