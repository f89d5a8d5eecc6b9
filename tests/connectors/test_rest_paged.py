"""The paged REST connector against the real 人社 simulator process: standard suite, then the faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from connectors.base import SourceError
from connectors.rest_client import RetryPolicy, TokenApiClient
from connectors.rest_paged import RestPagedSource
from schemas.mappings.rs_social_insurance import OPTIONAL_COLUMNS, SOURCE_COLUMNS
from simulators.rs import insured
from tests.connectors.suite import ConnectorSuite
from tests.simulators.rs_server import RsServer, rs_server, start_server

__all__ = ["rs_server"]


def make_source(server: RsServer, *, page_size: int = 100, batch_rows: int = 300, **client: object) -> RestPagedSource:
    settings: dict = {"retry": RetryPolicy(max_attempts=6, backoff_base=0.02, backoff_max=0.2)} | client
    return RestPagedSource(
        name="rs_test",
        client=TokenApiClient(
            source="rs_test", base_url=server.base_url, app_id=server.app_id, app_secret=server.app_secret, **settings
        ),
        path="/api/v1/insured-persons",
        fields=SOURCE_COLUMNS,
        optional_fields=OPTIONAL_COLUMNS,
        page_size=page_size,
        batch_rows=batch_rows,
    )


def keys_of(batches) -> list[str]:
    return [
        f"{g}/{x}" for b in batches for g, x in zip(b.data["grbh"].to_pylist(), b.data["xzlx"].to_pylist(), strict=True)
    ]


def server_keys(server: RsServer) -> list[str]:
    return [f"{g}/{x}" for g, x, _ in server.rows()]


class TestRestPagedConnectorSuite(ConnectorSuite):
    key_column = "grbh"

    @pytest.fixture(autouse=True, scope="class")
    def _server(self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
        server = start_server(tmp_path_factory.mktemp("rs"))
        request.cls.server = server
        request.cls.keys = server_keys(server)
        yield
        server.stop()

    def make_source(self) -> RestPagedSource:
        return make_source(self.server)

    def expected_keys(self) -> list[str]:
        return self.keys

    def _keys(self, batches) -> list[str]:
        # one row per person and insurance type: the key is (grbh, xzlx)
        return keys_of(batches)


def test_batches_carry_declared_string_columns_and_absent_card_fields_as_null(rs_server: RsServer) -> None:
    batches = list(make_source(rs_server).read(None))
    for b in batches:
        assert set(SOURCE_COLUMNS) <= set(b.data.column_names)
        assert all(str(t) == "string" for t in b.data.schema.types)
    cards = [v for b in batches for v in b.data["sbkh"].to_pylist()]
    assert None in cards and any(cards)
    resident = [b.data.filter(b.data["xzlx"].to_numpy(zero_copy_only=False) == "170") for b in batches]
    assert all(set(t["dwbh"].to_pylist()) <= {""} for t in resident)


def test_rows_at_the_cursor_time_arriving_later_are_read_not_skipped(rs_server: RsServer) -> None:
    source = make_source(rs_server, page_size=50)
    cursor = list(source.read(None))[-1].cursor
    # a new row at the very same gxsj, same person (another insurance type), and one after in grbh order
    with psycopg.connect(rs_server.db_uri) as conn:
        conn.execute(
            f"INSERT INTO {insured.TABLE} SELECT grbh, sfzhm, xm, '999', cbzt, dwbh, dwmc, tyshxydm, cbrq, jfjs, "
            f"sbkh, fkrq, gxsj FROM {insured.TABLE} WHERE grbh = %s AND gxsj = %s::timestamptz LIMIT 1",
            (cursor["tiebreak"], cursor["value"]),
        )
        conn.execute(
            f"INSERT INTO {insured.TABLE} SELECT 'ZZZZ' || grbh, sfzhm, xm, xzlx, cbzt, dwbh, dwmc, tyshxydm, cbrq, "
            f"jfjs, sbkh, fkrq, gxsj FROM {insured.TABLE} WHERE grbh = %s AND gxsj = %s::timestamptz LIMIT 1",
            (cursor["tiebreak"], cursor["value"]),
        )
    later = keys_of(source.read(cursor))
    assert sorted(k.split("/")[1] == "999" or k.startswith("ZZZZ") for k in later) == [True, True]
    assert len(later) == 2


def test_token_expiry_mid_run_refreshes_and_reads_everything(rs_server: RsServer) -> None:
    rs_server.faults(expire_tokens_every=3)
    source = make_source(rs_server)
    keys = keys_of(source.read(None))
    assert sorted(keys) == sorted(server_keys(rs_server))
    assert rs_server.counters()["unauthorized"] >= 4
    assert source.client.stats["refreshes"] >= 4 and source.client.stats["tokens"] >= 5


def test_short_token_lifetime_is_renewed_before_use(rs_server: RsServer) -> None:
    rs_server.faults(token_ttl=1)
    source = make_source(rs_server, page_size=200, batch_rows=200, sleep=lambda s: time.sleep(s))
    keys = []
    for batch in source.read(None):
        keys += keys_of([batch])
        time.sleep(0.4)
    assert sorted(keys) == sorted(server_keys(rs_server))
    assert source.client.stats["tokens"] >= 3


def test_429_waits_at_least_retry_after(rs_server: RsServer) -> None:
    rs_server.faults(throttle_every=4, retry_after=1)
    waits: list[float] = []
    source = make_source(rs_server, sleep=lambda s: (waits.append(s), time.sleep(s)))
    assert sorted(keys_of(source.read(None))) == sorted(server_keys(rs_server))
    throttled = rs_server.counters()["throttled"]
    assert throttled >= 3 and len(waits) == throttled
    assert all(w >= 1.0 for w in waits)


def test_503_burst_is_retried_with_growing_backoff(rs_server: RsServer) -> None:
    rs_server.faults(unavailable_every=5, unavailable_burst=3)
    waits: list[float] = []
    source = make_source(rs_server, sleep=waits.append)
    assert sorted(keys_of(source.read(None))) == sorted(server_keys(rs_server))
    assert rs_server.counters()["unavailable"] >= 6
    assert len(waits) == rs_server.counters()["unavailable"]
    assert all(0 <= w <= 0.2 for w in waits)


def test_outage_longer_than_the_attempts_names_source_and_page(rs_server: RsServer) -> None:
    rs_server.faults(unavailable_every=3, unavailable_burst=50)
    source = make_source(rs_server, sleep=lambda s: None)
    with pytest.raises(
        SourceError,
        match=r"source rs_test: /api/v1/insured-persons page 3 .* failed after 6 attempts; last: HTTP 50[23]",
    ):
        list(source.read(None))


def test_slow_page_times_out_and_is_retried(rs_server: RsServer) -> None:
    rs_server.faults(slow_every=4, slow_seconds=2)
    source = make_source(rs_server, page_size=200, batch_rows=400, timeout=0.5)
    assert sorted(keys_of(source.read(None))) == sorted(server_keys(rs_server))
    assert rs_server.counters()["slow"] >= 2
    assert source.client.stats["retries"] >= 2


def test_wrong_secret_is_a_clear_error_without_retrying(rs_server: RsServer) -> None:
    source = make_source(rs_server)
    source.client.app_secret = "wrong"
    with pytest.raises(
        SourceError, match=r"source rs_test: token request before .* page 1 .*HTTP 401 \(invalid_client\)"
    ):
        list(source.read(None))


def test_rows_out_of_order_are_refused(rs_server: RsServer) -> None:
    import pyarrow as pa

    source = make_source(rs_server)
    page = pa.table(
        {"gxsj": ["2026-01-01T10:00:00+08:00", "2026-01-01T09:00:00+08:00"], "grbh": ["A", "B"], "xzlx": ["110", "110"]}
    )
    with pytest.raises(SourceError, match=r"page 9 row 2: rows are not in \(gxsj, grbh\) order"):
        source._order(page, "page 9", None)
