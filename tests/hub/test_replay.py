"""Quarantine replay: rows quarantined under a wrong mapping load after the fix; the ledger balances."""

from __future__ import annotations

import dataclasses
import datetime as dt

import psycopg
import pyarrow as pa

from hub import registry, replay
from hub.cli import main
from hub.pipeline import run_ingest
from schemas import text
from schemas.mapping import MappedBatch
from schemas.mappings import ga_population

SPEC = registry.get("ga_population")
TODAY = dt.date(2026, 11, 23)


def _wrong_transform(raw: pa.Table) -> MappedBatch:
    """A mapping bug: names and addresses only trimmed, so full-width characters and inner spaces stay."""
    mapped = ga_population.transform(raw)
    data = mapped.data
    for column, source in (("name", "XM"), ("address", "HJDZ_XZ")):
        index = data.schema.get_field_index(column)
        data = data.set_column(index, data.schema.field(index), text.clean_code(raw[source]))
    return dataclasses.replace(mapped, data=data)


WRONG_MAPPING = dataclasses.replace(ga_population.MAPPING, transform=_wrong_transform)
WRONG_SPEC = dataclasses.replace(SPEC, mapping="tests.hub.test_replay:WRONG_MAPPING")


def _rows(uri: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql, params).fetchall()


def test_rows_quarantined_under_a_wrong_mapping_load_after_the_fix(store: str, ga_source, capsys) -> None:
    first = run_ingest(WRONG_SPEC, "run-1", store=store, today=TODAY)
    assert first.balanced
    hygiene = dict(
        _rows(
            store,
            "SELECT rule, count(*) FROM quarantine.record WHERE rule LIKE 'name.%%' OR rule LIKE 'address.%%' "
            "GROUP BY rule",
        )
    )
    assert hygiene and set(hygiene) <= {"name.full_width", "name.padded", "address.full_width", "address.padded"}
    wrongly_held = sum(hygiene.values())
    pending_before = first.quarantined
    population_before = _rows(store, "SELECT count(*) FROM shared.population")[0][0]

    entry = replay.replay(SPEC, store=store, today=TODAY)  # the fixed (current) mapping
    assert entry is not None and entry.status == "succeeded" and entry.balanced
    assert entry.extracted == pending_before
    released = entry.inserted + entry.updated + entry.unchanged
    assert released == wrongly_held
    assert entry.inserted == wrongly_held  # these persons were not in the store before
    assert entry.quarantined == pending_before - wrongly_held
    assert _rows(store, "SELECT count(*) FROM shared.population")[0][0] == population_before + entry.inserted

    by_status = dict(_rows(store, "SELECT status, count(*) FROM quarantine.record GROUP BY status"))
    assert by_status == {"released": wrongly_held, "pending": pending_before - wrongly_held}  # nothing deleted
    assert _rows(store, "SELECT DISTINCT released_batch_id FROM quarantine.record WHERE status = 'released'") == [
        (entry.batch_id,)
    ]
    still = {r[0] for r in _rows(store, "SELECT rule FROM quarantine.record WHERE status = 'pending'")}
    assert still <= {"id_number.checksum", "id_number.birth_date", "birth_date.invalid"}
    names = [r[0] for r in _rows(store, "SELECT name FROM shared.population WHERE batch_id = %s", entry.batch_id)]
    assert names and all(
        " " not in n and n.isprintable() and not any("\uff01" <= c <= "\uff5e" for c in n) for n in names
    )

    assert replay.replay(SPEC, store=store, today=TODAY).inserted == 0  # a second replay releases nothing new
    assert main(["quarantine", "list", "--source", "ga_population", "--json"]) == 0
    listed = capsys.readouterr().out
    assert "id_number.checksum" in listed and "GMSFHM" not in listed  # list never prints the raw record
    record_id = _rows(store, "SELECT min(id) FROM quarantine.record")[0][0]
    assert main(["quarantine", "show", "--id", str(record_id)]) == 0
    assert "GMSFHM" in capsys.readouterr().out


def test_revive_gives_each_column_its_declared_type_and_guesses_nothing() -> None:
    table, ok = replay.revive(
        [
            {"GXSJ": "2026-11-01 08:00:00", "CLRQ": "2001-01-02", "变更时间": "2026-11-01 08:00:00", "N": 3},
            {"GXSJ": None, "CLRQ": None, "变更时间": None, "N": None},
        ],
        {"GXSJ": pa.timestamp("us"), "CLRQ": pa.date32(), "N": pa.int16()},
    )
    assert ok.tolist() == [True, True]
    assert table.schema.field("GXSJ").type == pa.timestamp("us")
    assert table.schema.field("CLRQ").type == pa.date32()
    assert table.schema.field("N").type == pa.int16()
    assert table.schema.field("变更时间").type == pa.string()  # text in the file: looks like a time, stays text
    assert table["GXSJ"][0].as_py() == dt.datetime(2026, 11, 1, 8, 0)
    assert table["变更时间"][0].as_py() == "2026-11-01 08:00:00"


def test_revive_leaves_out_a_record_its_types_cannot_hold() -> None:
    table, ok = replay.revive(
        [{"GXSJ": "2026-11-01 08:00:00", "XM": "张三"}, {"GXSJ": "not a time", "XM": {"nested": 1}}],
        {"GXSJ": pa.timestamp("us")},
    )
    assert ok.tolist() == [True, False]
    assert table.to_pylist() == [{"GXSJ": dt.datetime(2026, 11, 1, 8, 0), "XM": "张三"}]


def test_replay_leaves_lines_and_bytes_only_a_corrected_delivery_can_fix(store: str, ga_source) -> None:
    first = run_ingest(SPEC, "run-1", store=store, today=TODAY)
    with psycopg.connect(store) as conn:
        pending = conn.execute("SELECT count(*) FROM quarantine.record WHERE status = 'pending'").fetchone()[0]
        conn.execute(
            "UPDATE quarantine.record SET rule = CASE WHEN id % 2 = 0 THEN 'file.truncated_line' "
            "ELSE 'value.nul_byte' END WHERE id IN (SELECT id FROM quarantine.record ORDER BY id LIMIT 2)"
        )
    assert first.quarantined == pending >= 3
    entry = replay.replay(SPEC, store=store, today=TODAY)
    assert entry is not None and entry.extracted == pending - 2
    held = _rows(store, "SELECT rule, status FROM quarantine.record WHERE rule LIKE 'file.%%' OR rule LIKE 'value.%%'")
    assert sorted(held) == [("file.truncated_line", "pending"), ("value.nul_byte", "pending")]
