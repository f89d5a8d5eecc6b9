from __future__ import annotations

import datetime as dt

import adbc_driver_postgresql.dbapi as adbc
import pyarrow as pa
import pytest

from connectors.base import SourceError
from connectors.sql_table import SqlTableSource
from tests.conftest import fresh_database
from tests.connectors.suite import ConnectorSuite


def _people_table(uri: str, n: int) -> list[str]:
    """n rows where runs of 7 rows share one GXSJ value, keys not in timestamp order."""
    keys = [f"K{(i * 7919) % 100_003:06d}" for i in range(n)]
    stamps = [dt.datetime(2026, 11, 1) + dt.timedelta(minutes=i // 7) for i in range(n)]
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute('CREATE TABLE "T_X" ("K" varchar(18), "V" text, "GXSJ" timestamp)')
        cur.adbc_ingest(
            "T_X", pa.table({"K": keys, "V": ["v"] * n, "GXSJ": pa.array(stamps, pa.timestamp("us"))}), mode="append"
        )
        conn.commit()
    return keys


class TestSqlTableConnectorSuite(ConnectorSuite):
    key_column = "K"

    @pytest.fixture(autouse=True)
    def _source_db(self) -> None:
        self.uri = fresh_database("sql_suite")
        self.keys = _people_table(self.uri, 100)

    def make_source(self) -> SqlTableSource:
        return SqlTableSource(
            name="suite", uri=self.uri, table="T_X", cursor_column="GXSJ", tiebreak_column="K", batch_rows=15
        )

    def expected_keys(self) -> list[str]:
        return self.keys


class TestSqlTableClientOrderSuite(TestSqlTableConnectorSuite):
    """The same contract when the window is sorted in Arrow instead of the database."""

    def make_source(self) -> SqlTableSource:
        return SqlTableSource(
            name="suite",
            uri=self.uri,
            table="T_X",
            cursor_column="GXSJ",
            tiebreak_column="K",
            batch_rows=15,
            order="client",
        )


def test_a_batch_never_splits_rows_sharing_a_cursor_value() -> None:
    uri = fresh_database("sql_groups")
    _people_table(uri, 100)
    for order in ("server", "client"):
        source = SqlTableSource(
            name="t", uri=uri, table="T_X", cursor_column="GXSJ", tiebreak_column="K", batch_rows=10, order=order
        )
        batches = list(source.read(None))
        seen: set = set()
        for b in batches:
            stamps = set(b.data["GXSJ"].to_pylist())
            assert not stamps & seen, order
            seen |= stamps
        assert [b.data.num_rows for b in batches] == [14] * 7 + [2]  # groups of 7 rows; the last group has 2


def test_rows_sharing_a_cursor_value_are_not_skipped_across_runs() -> None:
    uri = fresh_database("sql_ties")
    keys = _people_table(uri, 21)
    source = SqlTableSource(name="t", uri=uri, table="T_X", cursor_column="GXSJ", tiebreak_column="K")
    cursor = list(source.read(None))[-1].cursor
    # two more rows stamped with the very same GXSJ as the cursor, with keys after its tiebreak
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO \"T_X\" VALUES ('ZZ1', 'v', $1::timestamp), ('ZZ2', 'v', $1::timestamp)",
            parameters=(cursor["value"],),
        )
        conn.commit()
    later = [k for b in source.read(cursor) for k in b.data["K"].to_pylist()]
    assert sorted(later) == ["ZZ1", "ZZ2"]
    assert len(keys) == 21


def test_unreachable_source_names_the_source() -> None:
    source = SqlTableSource(
        name="ga_population",
        uri="postgresql://postgres@/nope?host=/nonexistent",
        table="T_RK_JBXX",
        cursor_column="GXSJ",
        tiebreak_column="GMSFHM",
    )
    with pytest.raises(SourceError, match=r"source ga_population: reading T_RK_JBXX failed"):
        list(source.read(None))
