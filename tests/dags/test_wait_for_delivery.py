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
    assert wait.fs_conn_id == spec.conn_id
    assert wait.downstream_task_ids == {"ingest"}
    assert dag.get_task("ingest").upstream_task_ids == {"wait_for_delivery"}


def test_sources_without_wait_for_have_no_wait_step() -> None:
    from hub.dag_factory import build_ingest_dag

    for spec in SOURCES:
        if spec.sensor is None:
            assert "wait_for_delivery" not in build_ingest_dag(spec, "Ingest DAGs").task_ids


def test_the_marker_is_the_runs_day_or_any_for_a_run_triggered_by_hand() -> None:
    """A scheduled run waits for its day's marker; a manual run (no logical date in Airflow 3) for any."""
    import datetime as dt
    from types import SimpleNamespace

    from hub.dag_factory import build_ingest_dag

    dag = build_ingest_dag(get("yb_medical_insurance"), "Ingest DAGs")
    wait = dag.get_task("wait_for_delivery")

    def render(logical_date: dt.datetime | None) -> str:
        run = SimpleNamespace(logical_date=logical_date, run_after=dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC))
        return wait.render_template(wait.filepath, {"dag_run": run}, jinja_env=dag.get_template_env())

    assert render(dt.datetime(2026, 11, 28, tzinfo=dt.UTC)) == "YB_CBXX_20261128.ok"
    assert render(None) == "YB_CBXX_*.ok"
