"""Quarantine replay of every source, through its real connector: a held-back row loads as its own batch.

Each source is ingested through a copy of its mapping that holds back the first clean row of
every batch (rule ``test.held``); the replay then runs the source's real mapping over the
quarantined raw records, rebuilt with the types the connector delivered (医保's 变更时间 is text
in the file and must stay text), and loads the held rows as one balanced ledger batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from hub import registry, replay
from hub.cli import main
from hub.pipeline import run_ingest
from hub.store.ledger import LedgerEntry
from quality.rules import validate
from schemas.failure import Failure
from schemas.mapping import MappedBatch, Mapping
from simulators.city import CityPlan, persons
from simulators.sc import entities as sc
from simulators.yb.enrolments import Dirt, encode_csv, file_name, full_state, write_file
from simulators.yb.provision import connection_json
from simulators.zw import cases
from tests.conftest import connection_env, fresh_database
from tests.simulators.rs_server import RsServer, rs_server

__all__ = ["rs_server"]
TODAY = dt.date(2026, 11, 23)
PLAN = CityPlan(2_000, 5)
SEEN: dict[str, pa.Schema] = {}
"""The raw schema each source's connector delivered at ingest (to hold the declared raw types to)."""


def holding(mapping: Mapping) -> Mapping:
    """``mapping``, except that the first row of each batch passing every rule is quarantined as ``test.held``."""

    def transform(raw: pa.Table) -> MappedBatch:
        SEEN[mapping.source] = raw.schema
        mapped = mapping.transform(raw)
        verdict = validate(mapping.table, mapped.data, today=TODAY, extra=mapped.failures)
        held = np.zeros(raw.num_rows, dtype=bool)
        held[np.flatnonzero(~verdict.rejected)[:1]] = True
        key = mapping.table.key[0]
        return dataclasses.replace(mapped, failures=(*mapped.failures, Failure("test.held", key, "held back", held)))

    return dataclasses.replace(mapping, transform=transform)


HELD_GA_POPULATION = holding(registry.get("ga_population").load_mapping())
HELD_SC_MARKET_ENTITIES = holding(registry.get("sc_market_entities").load_mapping())
HELD_ZW_CASES = holding(registry.get("zw_cases").load_mapping())
HELD_YB_MEDICAL_INSURANCE = holding(registry.get("yb_medical_insurance").load_mapping())
HELD_RS_SOCIAL_INSURANCE = holding(registry.get("rs_social_insurance").load_mapping())


def _broken(raw: pa.Table) -> MappedBatch:
    raise RuntimeError("a mapping that cannot map anything")


BROKEN_GA_POPULATION = dataclasses.replace(registry.get("ga_population").load_mapping(), transform=_broken)


def _held_spec(name: str) -> registry.SourceSpec:
    return dataclasses.replace(registry.get(name), mapping=f"{__name__}:HELD_{name.upper()}")


def _rows(uri: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql, params).fetchall()


def _hold_and_replay(store: str, name: str) -> LedgerEntry:
    """Ingest ``name`` holding clean rows back, replay it, and check the replay batch; return its entry."""
    spec = registry.get(name)
    table = spec.load_mapping().table.qualified_name
    ingest = run_ingest(_held_spec(name), "run-1", store=store, today=TODAY)
    assert ingest.status == "succeeded" and ingest.balanced
    held = ingest.rule_counts["test.held"]
    assert held >= 1
    for column, declared in spec.load_mapping().raw_types.items():
        assert SEEN[name].field(column).type == declared, f"{name}.{column}: raw_types says {declared}"
    pending = _rows(store, "SELECT count(*) FROM quarantine.record WHERE source = %s AND status = 'pending'", name)
    in_table = _rows(store, f"SELECT count(*) FROM {table}")[0][0]

    entry = replay.replay(spec, store=store, today=TODAY)

    assert entry is not None and entry.status == "succeeded" and entry.balanced
    assert entry.batch_id.startswith(f"{name}:replay:") and entry.batch_id != ingest.batch_id
    assert entry.extracted == pending[0][0]
    assert (entry.inserted, entry.updated, entry.unchanged) == (held, 0, 0)
    assert entry.quarantined == entry.extracted - held
    assert _rows(store, f"SELECT count(*) FROM {table}")[0][0] == in_table + held
    assert _rows(store, f"SELECT count(*) FROM {table} WHERE batch_id = %s", entry.batch_id)[0][0] == held
    released = _rows(
        store,
        "SELECT rule, released_batch_id FROM quarantine.record WHERE source = %s AND status = 'released'",
        name,
    )
    assert released == [("test.held", entry.batch_id)] * held
    again = replay.replay(spec, store=store, today=TODAY)  # the rest still fails: nothing more loads
    assert again is None if entry.quarantined == 0 else (again.extracted, again.inserted) == (entry.quarantined, 0)
    return entry


def test_ga_population_replay(store: str, ga_source) -> None:
    _hold_and_replay(store, "ga_population")


def test_sc_market_entities_replay(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = fresh_database("sim_sc")
    table, _ = sc.generate(600, PLAN.seed, persons(PLAN.persons, PLAN.seed))
    sc.create(uri, table)
    monkeypatch.setenv("AIRFLOW_CONN_SC_MARKET_ENTITIES", connection_env(uri))
    _hold_and_replay(store, "sc_market_entities")


def test_zw_cases_replay_rederives_the_case(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = fresh_database("sim_zw")
    cases.create(uri, PLAN, history_days=10)
    monkeypatch.setenv("AIRFLOW_CONN_ZW_CASES", connection_env(uri))
    entry = _hold_and_replay(store, "zw_cases")
    (case_no,) = _rows(store, "SELECT case_no FROM shared.service_case_step WHERE batch_id = %s", entry.batch_id)[0]
    steps, last = _rows(
        store, "SELECT count(*), max(step_no) FROM shared.service_case_step WHERE case_no = %s", case_no
    )[0]
    # the case is derived again from all its steps, the released one included
    assert _rows(store, "SELECT version, last_step_no FROM shared.service_case WHERE case_no = %s", case_no) == [
        (steps, last)
    ]


def test_yb_medical_insurance_replay_keeps_the_file_text(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    write_file(inbox, file_name(0), encode_csv(full_state(CityPlan(300, 3)), Dirt(), seed=0))
    monkeypatch.setenv("AIRFLOW_CONN_YB_MEDICAL_INSURANCE", connection_json(inbox))
    _hold_and_replay(store, "yb_medical_insurance")


def test_rs_social_insurance_replay(store: str, rs_server: RsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RS_SOCIAL_INSURANCE", rs_server.connection(page_size=500, batch_rows=1000))
    _hold_and_replay(store, "rs_social_insurance")


def test_one_source_failing_does_not_stop_the_others(store: str, ga_source, monkeypatch, capsys) -> None:
    run_ingest(_held_spec("ga_population"), "run-1", store=store, today=TODAY)
    broken = dataclasses.replace(registry.get("ga_population"), mapping=f"{__name__}:BROKEN_GA_POPULATION")
    outcomes = replay.replay_all([broken, registry.get("ga_population")], store=store, today=TODAY)
    assert outcomes[0].entry is None and "a mapping that cannot map anything" in (outcomes[0].error or "")
    assert outcomes[1].error is None and outcomes[1].entry is not None and outcomes[1].entry.inserted >= 1
    failed = _rows(store, "SELECT status, error FROM hub.ledger WHERE run_id LIKE 'replay:%%' ORDER BY started_at")
    assert [s for s, _ in failed] == ["failed", "succeeded"] and "RuntimeError" in failed[0][1]

    run_ingest(_held_spec("ga_population"), "run-2", store=store, today=TODAY)  # nothing new: nothing held
    monkeypatch.setattr(registry, "SOURCES", (broken, *registry.SOURCES))
    assert main(["quarantine", "replay"]) == 1  # the broken source fails the command, after every source ran
    captured = capsys.readouterr()
    assert "ga_population: replay failed: RuntimeError" in captured.err
    for spec in registry.SOURCES[1:]:
        assert spec.name in captured.out
