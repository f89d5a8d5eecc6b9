"""The one way a ShareHub DAG is built: the house defaults every DAG shares, in one place.

Every module in ``dags/`` is one call of a ``build_*_dag`` function (given the module's docstring
as ``doc_md``); each of those opens its DAG with :func:`hub_dag`. Airflow registers a DAG built
in a ``with`` block while it imports a DAG file (``auto_register``), so a module defining several
DAGs needs no ``globals()``. A DAG file still names ``airflow.sdk.DAG`` (its result's type): the DAG
processor only opens files that contain the words "airflow" and "dag".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow.sdk import DAG

OWNER = "sharehub-data-engineering"
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
}


def hub_dag(
    dag_id: str,
    *,
    schedule: Any,
    doc: str | None,
    tags: Sequence[str],
    retries: int = DEFAULT_ARGS["retries"],
    **options: Any,
) -> DAG:
    """A DAG with the house defaults: fixed start date, no catchup, one run at a time, owner and retries.

    Args:
        dag_id: The DAG's id.
        schedule: Anything Airflow takes as ``schedule`` (cron, timetable, assets).
        doc: The ``doc_md``: the DAG file's docstring (plus what the builder adds).
        tags: Tags after ``sharehub``, which every DAG carries.
        retries: Retries of each task (a frequent ops DAG retries once; its next run comes soon).
        **options: Further ``DAG`` arguments, e.g. ``deadline``.

    Returns:
        The DAG, to be used as a context manager.
    """
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "retries": retries},
        doc_md=doc,
        tags=["sharehub", *tags],
        **options,
    )
