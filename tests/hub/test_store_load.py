"""The load transaction's two paths (bulk first load, MERGE) give the same rows, counts and quarantine."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.sql_table import SqlTableSource
from hub.store import load
from hub.store.load import LoadTransaction
from quality.rules import validate
from schemas.mappings.ga_population import MAPPING
from simulators.ga import population
from tests.conftest import fresh_database

TABLE = MAPPING.table
TODAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def valid_rows() -> pa.Table:
    """400 mapped, valid population rows with their record locators (``_ref``)."""
    uri = fresh_database("sim_ga_load")
    population.create(uri, 400, seed=5)
    raw = pa.concat_tables([b.data for b in SqlTableSource("ga", uri, "T_RK_JBXX", "GXSJ", "GMSFHM").read(None)])
    mapped = MAPPING.apply(raw)
    keep = pa.array(~validate(TABLE, mapped.data, today=TODAY, extra=mapped.failures).rejected)
    return mapped.data.filter(keep).append_column("_ref", mapped.refs.filter(keep).cast(pa.string()))


def _with_duplicates(rows: pa.Table) -> pa.Table:
    """Rows 0-9 again: 0-4 one day newer with a new address, 5-9 with the same version (the larger _ref wins)."""
    newer = rows.slice(0, 5)
    newer = newer.set_column(
        newer.schema.get_field_index("address"), "address", pc.binary_join_element_wise(newer["address"], "（新）", "")
    )
    newer = newer.set_column(
        newer.schema.get_field_index("source_updated_at"),
        "source_updated_at",
        pc.add(newer["source_updated_at"], pa.scalar(dt.timedelta(days=1))),
    )
    newer = newer.set_column(
        newer.schema.get_field_index("_ref"), "_ref", pc.binary_join_element_wise(newer["_ref"], "~n", "")
    )
    tie = rows.slice(5, 5)
    tie = tie.set_column(tie.schema.get_field_index("phone"), "phone", pa.array(["13900000000"] * 5))
    tie = tie.set_column(tie.schema.get_field_index("_ref"), "_ref", pc.binary_join_element_wise(tie["_ref"], "~t", ""))
    return pa.concat_tables([rows, newer.cast(rows.schema), tie.cast(rows.schema)])


def _load(store: str, rows: pa.Table, batch_id: str, *, path: str, monkeypatch) -> load.MergeCounts:
    """Load ``rows`` by ``path``: ``direct`` (COPY into the empty table), ``bulk`` (from staging) or ``merge``."""
    monkeypatch.setattr(load, "BULK_LOAD_MIN_ROWS", 10**9 if path == "merge" else 1)
    direct = path == "direct"
    with LoadTransaction(store, TABLE, source="ga_population", batch_id=batch_id, direct_first_load=direct) as tx:
        for batch in rows.to_batches(max_chunksize=150):  # several stage() calls, duplicates across them
            tx.stage(pa.Table.from_batches([batch]))
        assert tx.direct == (direct and tx.staged > 0 and batch_id.endswith(":1"))
        counts = tx.merge()
        tx.finish(
            run_id=batch_id,
            started_at=dt.datetime.now(dt.UTC),
            extracted=rows.num_rows,
            counts={
                "inserted": counts.inserted,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "quarantined": counts.superseded,
            },
            cursor_from=None,
            cursor_to=None,
            move_cursor=False,
            drift=[],
            rule_counts={},
        )
    return counts


def _snapshot(store: str) -> tuple[list, list, int]:
    cols = ", ".join(TABLE.business_columns)
    with psycopg.connect(store) as conn:
        rows = conn.execute(f"SELECT {cols}, record_hash FROM {TABLE.qualified_name} ORDER BY id_number").fetchall()
        quarantined = conn.execute(
            "SELECT record_ref, rule, status FROM quarantine.record ORDER BY record_ref"
        ).fetchall()
        pk = conn.execute(
            f"SELECT count(*) FROM pg_constraint WHERE conrelid = '{TABLE.qualified_name}'::regclass AND contype = 'p'"
        ).fetchone()[0]
    return rows, quarantined, pk


@pytest.mark.parametrize("duplicates", [False, True], ids=["unique keys", "duplicate keys"])
def test_direct_bulk_and_merge_paths_load_the_same(valid_rows, monkeypatch, duplicates: bool) -> None:
    from hub.store.migrate import migrate

    rows = _with_duplicates(valid_rows) if duplicates else valid_rows
    results = {}
    for path in ("direct", "bulk", "merge"):
        uri = fresh_database(f"store_{path}")
        migrate(uri)
        results[path] = (_load(uri, rows, "ga_population:1", path=path, monkeypatch=monkeypatch), _snapshot(uri))
    assert results["direct"] == results["bulk"] == results["merge"]
    counts, (loaded_rows, quarantined, pk) = results["direct"]
    assert counts.inserted == valid_rows.num_rows and pk == 1
    assert counts.superseded == (10 if duplicates else 0)
    if duplicates:
        loaded = {r[0]: r for r in loaded_rows}
        address, phone = TABLE.business_columns.index("address"), TABLE.business_columns.index("phone")
        assert all(loaded[i][address].endswith("（新）") for i in valid_rows["id_number"][:5].to_pylist())
        assert all(loaded[i][phone] == "13900000000" for i in valid_rows["id_number"][5:10].to_pylist())
        assert {r[2] for r in quarantined} == {"superseded"} and len(quarantined) == 10
        superseded_refs = {r[0] for r in quarantined}
        assert all(ref.endswith("~t") is False for ref in superseded_refs)  # the tie went to the larger _ref


def test_a_crash_after_a_direct_copy_leaves_the_empty_keyed_table(store, valid_rows, monkeypatch) -> None:
    monkeypatch.setattr(load, "BULK_LOAD_MIN_ROWS", 1)
    with LoadTransaction(
        store, TABLE, source="ga_population", batch_id="ga_population:1", direct_first_load=True
    ) as tx:
        tx.stage(valid_rows)
        assert tx.direct
        tx._copy.drain()
    rows, quarantined, pk = _snapshot(store)
    assert (rows, quarantined, pk) == ([], [], 1)


def test_merge_writes_only_changed_rows_and_hashes_them_like_the_bulk_load(store, valid_rows, monkeypatch) -> None:
    _load(store, valid_rows, "ga_population:1", path="direct", monkeypatch=monkeypatch)
    before = {r[0]: r for r in _snapshot(store)[0]}
    changed = valid_rows.set_column(  # every row one day newer; only the first 7 with a new phone number
        valid_rows.schema.get_field_index("source_updated_at"),
        "source_updated_at",
        pc.add(valid_rows["source_updated_at"], pa.scalar(dt.timedelta(days=1))),
    )
    phones = changed["phone"].to_pylist()
    phones[:7] = ["13800000000"] * 7
    changed = changed.set_column(changed.schema.get_field_index("phone"), "phone", pa.array(phones))
    changed = changed.cast(valid_rows.schema)
    counts = _load(store, changed, "ga_population:2", path="merge", monkeypatch=monkeypatch)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 7, valid_rows.num_rows - 7)
    after = {r[0]: r for r in _snapshot(store)[0]}
    touched = {k for k in after if after[k] != before[k]}
    assert touched == set(valid_rows["id_number"][:7].to_pylist())
    # the MERGE's digest of a changed row equals what a direct first load of the same content computes
    fresh = fresh_database("store_rehash")
    from hub.store.migrate import migrate

    migrate(fresh)
    _load(fresh, changed, "ga_population:1", path="direct", monkeypatch=monkeypatch)
    rehashed = {r[0]: r[-1] for r in _snapshot(fresh)[0]}
    assert all(after[k][-1] == rehashed[k] for k in touched)


def test_staged_keys_unique_sees_duplicates_across_stage_calls(store, valid_rows) -> None:
    with LoadTransaction(store, TABLE, source="ga_population", batch_id="ga_population:k") as tx:
        tx.stage(valid_rows.slice(0, 100))
        tx.stage(valid_rows.slice(100, 100))
        assert tx.staged_keys_unique()
        tx.stage(valid_rows.slice(50, 1))
        assert not tx.staged_keys_unique()
