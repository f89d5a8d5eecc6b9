"""A file-drop source's DAG waits for its ``.ok`` marker with a deferrable sensor (no worker slot held)."""

from __future__ import annotations

from hub.registry import SOURCES, get


def test_file_drop_dag_waits_deferred_for_the_days_marker() -> None:
    from airflow.providers.standard.sensors.filesystem import FileSensor

    from hub.dag_factory import build_ingest_dag

    spec = get("yb_medical_insurance")
    dag = build_ingest_dag(spec, "Ingest DAGs")
    wait = dag.get_task("wait_for_delivery")
    assert isinstance(wait, FileSensor) and wait.deferrable
    assert wait.fs_conn_id == spec.conn_id and wait.filepath == "YB_CBXX_{{ ds_nodash }}.ok"
    assert wait.downstream_task_ids == {"ingest"}
    assert dag.get_task("ingest").upstream_task_ids == {"wait_for_delivery"}


def test_sources_without_wait_for_have_no_wait_step() -> None:
    from hub.dag_factory import build_ingest_dag

    for spec in SOURCES:
        if "wait_for" not in spec.options:
            assert "wait_for_delivery" not in build_ingest_dag(spec, "Ingest DAGs").task_ids
