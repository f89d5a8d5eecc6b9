"""The quality check runs quietly: no progress bars, no ERROR records, one summary line per suite."""

from __future__ import annotations

import datetime as dt
import logging
import shutil

import psycopg
import pytest

from hub import registry
from hub.pipeline import run_ingest
from hub.quality_tasks import quality_check
from hub.settings import hub_home
from quality import gx_quiet
from quality.gx_suites import gx_root, suite_for
from schemas.tables import TABLES

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def loaded(store: str, ga_source) -> int:
    """The store with 公安 population ingested (in setup: the ingest configures Airflow's logging); its row count."""
    run_ingest(registry.get("ga_population"), "run-1", store=store, today=TODAY)
    with psycopg.connect(store) as conn:
        return conn.execute("SELECT count(*) FROM shared.population").fetchone()[0]


def test_a_successful_quality_check_logs_one_summary_line_and_nothing_else_of_gx(
    store: str, loaded: int, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(gx_root(hub_home()), ignore_errors=True)
    capfd.readouterr()
    caplog.set_level(logging.DEBUG)

    result = quality_check("ga_population", "shared.population", "ga_population:run-1", store=store)

    out, err = capfd.readouterr()
    assert result["suites"] == {"shared.population": True}
    assert "Calculating Metrics" not in out + err and "it/s]" not in out + err  # no tqdm bars
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("great_expectations")] == []
    evaluated = len(suite_for(TABLES["shared.population"], TODAY).expectations)
    info = [r for r in caplog.records if r.levelno >= logging.INFO]  # what a task log at INFO shows
    assert [r.getMessage() for r in info if r.name == "quality.batch_quality"] == [
        f"GX batch ga_population:run-1 of shared.population: {loaded:,} rows (the whole table), "
        f"{evaluated} expectations evaluated, 0 failed"
    ]  # the batch suite plus the key's uniqueness, judged by the database
    assert not (
        gx_root(hub_home()) / "gx"
    ).exists()  # GX ran in memory: no project files, so no bars to switch off there


def test_gx_loggers_are_restored_after_the_run() -> None:
    own = logging.getLogger("great_expectations.data_context.types.base")  # GX sets this one to INFO itself
    own.setLevel(logging.INFO)
    parent = logging.getLogger("great_expectations")
    before = parent.level
    with gx_quiet.quiet_logs():
        assert own.getEffectiveLevel() == logging.WARNING
        assert parent.getEffectiveLevel() == logging.WARNING
    assert own.level == logging.INFO
    assert parent.level == before
