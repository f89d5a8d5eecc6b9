"""Running the real DAGs in-process with ``dag.test()`` (the demo and the end-to-end tests).

There is one code path: the demo does not call the pipeline directly, it runs the DAG the
scheduler would run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def load_dag(dag_id: str) -> Any:
    """Parse the project's DAG folder and return ``dag_id``."""
    from airflow.dag_processing.dagbag import DagBag

    from hub.settings import dags_folder

    bag = DagBag(dag_folder=str(dags_folder()))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {dags_folder()}")
    return dag


def run_dag_once(dag_id: str, logical_date: dt.datetime) -> tuple[str, str]:
    """Run ``dag_id`` once for ``logical_date`` with ``dag.test()``.

    A second call with the same logical date repeats the same run: the run is "after" its
    logical date, so Airflow derives the same run id, as when a run is cleared and re-run.

    Returns:
        The run id and the final state.
    """
    dag = load_dag(dag_id)
    # Airflow 3.3.2's dag.test() hands the deadline alerts' definitions to code that expects the
    # ids the scheduler stores for them, and fails; deadlines are the scheduler's job anyway.
    dag.deadline = None
    run = dag.test(logical_date=logical_date, run_after=logical_date)
    return run.run_id, str(run.state)


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``log_path`` for the block.

    Airflow's task logs go to the terminal during ``dag.test()``; the demo keeps them in a file
    so that what it prints is its own summary (and ``--json`` prints only JSON).
    """
    import sys

    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
