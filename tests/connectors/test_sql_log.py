"""The SQL connector on an append-only log: cursor ``LSH`` (bigint), its own tiebreak."""

from __future__ import annotations

import pytest

from connectors.sql_table import SqlTableSource
from simulators.city import CityPlan
from simulators.zw import cases
from tests.conftest import fresh_database
from tests.connectors.suite import ConnectorSuite

PLAN = CityPlan(20_000, 8)


def _log_source(uri: str, batch_rows: int = 250_000) -> SqlTableSource:
    return SqlTableSource(
        name="zw_cases",
        uri=uri,
        table=cases.TABLE,
        cursor_column="LSH",
        tiebreak_column="LSH",
        cursor_type="bigint",
        batch_rows=batch_rows,
    )


class TestStepLogConnectorSuite(ConnectorSuite):
    key_column = "LSH"

    @pytest.fixture(autouse=True)
    def _source_db(self) -> None:
        self.uri = fresh_database("sql_log")
        _, self.rows = cases.create(self.uri, PLAN, history_days=5)

    def make_source(self) -> SqlTableSource:
        return _log_source(self.uri, batch_rows=max(1, self.rows // 5))

    def expected_keys(self) -> list[int]:
        return list(range(1, self.rows + 1))


def test_rows_appended_later_are_read_from_the_saved_cursor() -> None:
    uri = fresh_database("sql_log")
    _, rows = cases.create(uri, PLAN, history_days=5)
    source = _log_source(uri)
    cursor = list(source.read(None))[-1].cursor
    assert cursor == {"value": rows, "tiebreak": rows}
    day = cases.apply_day(uri, PLAN, 1, history_days=5)
    later = [k for b in source.read(cursor) for k in b.data["LSH"].to_pylist()]
    assert later == list(range(rows + 1, rows + day.steps + 1))
