"""Builds the Airflow DAGs from the source registry (wiring only; the work is in :mod:`hub.pipeline`).

Heavy modules (pyarrow, ADBC, Great Expectations) are imported inside the task functions, so
parsing a DAG file costs only Airflow and the registry.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, BaseOperator, DeadlineAlert, DeadlineReference, SyncCallback, task

from hub.dag_builder import hub_dag
from hub.ops.freshness import deadline_interval, deadline_missed
from hub.ops.lineage import record_ingest, table_asset
from hub.registry import SourceSpec, WaitForFile
from hub.store.connection import store_uri

WAIT_POKE_INTERVAL = dt.timedelta(minutes=5)
WAIT_TIMEOUT = dt.timedelta(hours=20)


def freshness_deadline(spec: SourceSpec) -> DeadlineAlert:
    """A run not finished one schedule interval after it was queued makes the source late: alert."""
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=deadline_interval(spec),
        callback=SyncCallback(deadline_missed, kwargs={"source": spec.name}),
        name=f"{spec.name}_freshness",
    )


def build_ingest_dag(spec: SourceSpec, module_doc: str | None) -> DAG:
    """The ingest DAG of one source: ``ingest`` (extract → map → validate → load), ``verify_ledger``, ``quality_check``.

    A source declaring a :class:`hub.registry.WaitForFile` sensor first waits for that file (see
    :func:`wait_for_delivery`).

    Args:
        spec: The registry entry.
        module_doc: The DAG file's docstring, shown with the source's own description as ``doc_md``.
    """
    doc = (
        f"{(module_doc or '').strip()}\n\n## {spec.title}\n\n{spec.description}\n\n"
        f"- connection: `{spec.conn_id}`\n- target: `{spec.table}`\n- schedule: `{spec.schedule}`\n"
        + "".join(f"- derived in the same transaction: `{t}`\n" for t in spec.extra_tables)
    )
    with hub_dag(
        spec.dag_id,
        schedule=spec.schedule,
        doc=doc,
        tags=["ingest", spec.department],
        deadline=freshness_deadline(spec),
    ) as dag:

        @task(task_id="ingest", outlets=[table_asset(t) for t in spec.tables])
        def ingest(run_id: str | None = None) -> dict:
            """Extract, map, validate and load one batch; returns the ledger counts."""
            from hub.pipeline import run_ingest  # in the task: +0.8 s CPU per DAG-file parse (pyarrow, ADBC)

            assert run_id is not None
            entry = run_ingest(spec, run_id)
            record_ingest(spec, ingest)
            return {"batch_id": entry.batch_id, **entry.counts()}

        @task(task_id="verify_ledger")
        def verify_ledger(summary: dict) -> dict:
            """Re-read the batch's ledger row and fail unless rows in equal rows accounted for."""
            from hub.store import ledger  # in the task: +0.14 s CPU per parse (psycopg)

            entry = ledger.get(store_uri(), summary["batch_id"])
            if entry is None or entry.status != "succeeded":
                raise RuntimeError(f"source {spec.name}: batch {summary['batch_id']} has no succeeded ledger row")
            if not entry.balanced:
                raise RuntimeError(f"source {spec.name}: batch {entry.batch_id} does not balance: {entry.counts()}")
            return entry.counts()

        @task(task_id="quality_check")
        def quality_check(summary: dict) -> dict:
            """Cross-department findings and GX over the rows this batch wrote (whole tables: ``quality_daily``)."""
            from hub.quality_tasks import quality_check as run_quality_check  # in the task: GX, pyarrow

            return run_quality_check(spec.name, spec.table, summary["batch_id"])

        loaded = ingest()
        wait = wait_for_delivery(spec)
        if wait is not None:
            wait >> loaded
        verify_ledger(loaded) >> quality_check(loaded)
    return dag


def wait_for_delivery(spec: SourceSpec) -> BaseOperator | None:
    """A deferrable wait for the file the spec's :class:`hub.registry.WaitForFile` sensor names, if it has one.

    The path (templated, glob allowed) is relative to the ``path`` of the source's ``fs``
    connection, e.g. the day's ``.ok`` marker. The sensor checks once, then defers to the
    triggerer: waiting holds no worker slot.
    """
    if not isinstance(spec.sensor, WaitForFile):
        return None
    from airflow.providers.standard.sensors.filesystem import FileSensor

    return FileSensor(
        task_id="wait_for_delivery",
        fs_conn_id=spec.conn_id,
        filepath=spec.sensor.path,
        deferrable=True,
        poke_interval=WAIT_POKE_INTERVAL.total_seconds(),
        timeout=WAIT_TIMEOUT.total_seconds(),
    )
