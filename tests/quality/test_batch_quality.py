"""Quality per batch finds exactly what whole-table validation finds on the same rows (real store, real GX)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg
import pytest
from stdnum.cn import ric

from hub.quality_tasks import QualityCheckFailed, quality_check
from hub.settings import hub_home
from quality import batch_quality, gx_suites
from schemas.tables import TABLES
from tests.quality.shared_rows import insert
from tests.quality.test_findings import _person

TODAY = dt.date(2026, 11, 23)
POPULATION = TABLES["shared.population"]
UNIQUE_KEY = "expect_column_values_to_be_unique(id_number)"
UNIQUE_KEY_ID = 'expect_column_values_to_be_unique {"column": "id_number"}'


def _ids(n: int, start: int = 1) -> list[str]:
    """``n`` valid identity numbers (born 1950-01-01 onwards, one a day)."""
    out = []
    for i in range(start, start + n):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=i)
        base = f"640104{born:%Y%m%d}{i % 1000:03d}"
        out.append(base + ric.calc_check_digit(base + "0"))
    return out


def _rows(ids: list[str], batch: str) -> list[dict]:
    return [_person(i, "NORMAL") | {"batch_id": batch} for i in ids]


def _three_batches(store: str) -> list[str]:
    """Three batches into shared.population: two with assorted bad rows, one clean."""
    ids = _ids(30)
    a = _rows(ids[:10], "src:a")
    a[0]["id_number"] = ids[0][:17] + ("1" if ids[0][17] != "1" else "2")  # wrong check character
    a[1]["name"] = "张\u200b三"  # zero-width space
    a[2]["name"] = "张" * 51  # longer than declared
    a[3]["birth_date"] = dt.date(1899, 12, 31)  # before the earliest date (the code tables are CHECKed by the store)
    a[4]["region_code"] = "640199"  # inside 银川市 but no district (an unexpected-rows query)
    b = _rows(ids[10:20], "src:b")
    b[0]["id_number"] = ids[10][:17] + "Y"  # malformed (and so no check-character verdict)
    b[1]["name"] = "李\u200b四"  # the same failure as batch a, on another row
    b[2]["address"] = " 宁夏银川"  # leading space
    b[3]["birth_date"] = TODAY + dt.timedelta(days=1)  # in the future
    c = _rows(ids[20:], "src:c")
    for rows in (a, b, c):
        insert(store, "shared.population", rows)
    return ["src:a", "src:b", "src:c"]


def _assert_same_failures(whole: gx_suites.SuiteResult, batches: list[gx_suites.SuiteResult]) -> None:
    assert set(whole.failed) == {f for b in batches for f in b.failed}
    summed: Counter[str] = Counter()
    for b in batches:
        summed.update(b.unexpected)
    assert whole.unexpected and set(whole.unexpected) == set(summed)  # every expectation reported a count
    for expectation, count in whole.unexpected.items():
        assert summed[expectation] == count, expectation
    assert sum(b.rows or 0 for b in batches) == whole.rows


def test_batches_find_exactly_the_whole_tables_failures(store: str) -> None:
    batches = _three_batches(store)
    (whole,) = gx_suites.run(store, [POPULATION], today=TODAY, home=hub_home()).suites
    per_batch = [batch_quality.validate_batch(store, POPULATION, b, today=TODAY, home=hub_home()) for b in batches]
    assert not whole.success
    _assert_same_failures(whole, per_batch)
    a, b, c = per_batch
    assert set(a.failed) == {
        "id_number: GB 11643-1999 check character matches",
        "expect_column_values_to_not_match_regex(name)",
        "expect_column_value_lengths_to_be_between(name)",
        "expect_column_values_to_be_between(birth_date)",
        "region_code: a code inside 银川市 is one of its known district codes",
    }
    assert set(b.failed) == {
        "expect_column_values_to_match_regex(id_number)",
        "expect_column_values_to_not_match_regex(name)",
        "expect_column_values_to_not_match_regex(address)",
        "expect_column_values_to_be_between(birth_date)",
    }
    assert b.rows == 10
    assert c.success and not c.failed and c.unexpected[UNIQUE_KEY_ID] == 0
    assert sum(whole.unexpected.values()) == 9  # nine bad rows, each failing one expectation
    assert sum(1 for n in whole.unexpected.values() if n) == 7  # zero-width spaces and dates: one each in a and b
    with psycopg.connect(store) as conn:  # each batch's outcome is recorded, counts only
        recorded = conn.execute(
            "SELECT batch_id, rows, success, failed, unexpected FROM quality.batch_validation "
            "WHERE table_name = 'shared.population' ORDER BY batch_id"
        ).fetchall()
    assert [(r[0], r[1], r[2], set(r[3]), r[4]) for r in recorded] == [
        (x, y.rows, y.success, set(y.failed), y.unexpected) for x, y in zip(batches, per_batch, strict=True)
    ]


def test_a_batch_that_is_the_whole_table_is_validated_in_place(store: str) -> None:
    rows = _rows(_ids(5), "src:full")
    rows[0]["name"] = " 张三"
    insert(store, "shared.population", rows)
    (whole,) = gx_suites.run(store, [POPULATION], today=TODAY, home=hub_home()).suites
    with psycopg.connect(store, autocommit=True) as conn:
        where = batch_quality.stage_batch(conn, POPULATION, "src:full")
    assert where.whole_table and where.rows == 5
    full = batch_quality.validate_batch(store, POPULATION, "src:full", today=TODAY, home=hub_home())
    _assert_same_failures(whole, [full])
    assert full.failed == ["expect_column_values_to_not_match_regex(name)"]


def test_duplicate_keys_across_batches_are_found_by_the_database(store: str) -> None:
    with psycopg.connect(store) as conn:  # only a table that lost its key can hold duplicates
        conn.execute("ALTER TABLE shared.population DROP CONSTRAINT population_pkey")
    ids = _ids(6)
    insert(store, "shared.population", _rows(ids[:3], "src:x"))
    insert(store, "shared.population", _rows([ids[0], *ids[3:]], "src:y"))  # ids[0] again
    with psycopg.connect(store) as conn:
        assert not batch_quality.key_enforced(conn, POPULATION)
    (whole,) = gx_suites.run(store, [POPULATION], today=TODAY, home=hub_home()).suites
    x, y = (
        batch_quality.validate_batch(store, POPULATION, b, today=TODAY, home=hub_home()) for b in ("src:x", "src:y")
    )
    assert whole.failed == [UNIQUE_KEY] and whole.unexpected[UNIQUE_KEY_ID] == 2
    assert x.failed == y.failed == [UNIQUE_KEY]
    assert x.unexpected[UNIQUE_KEY_ID] == y.unexpected[UNIQUE_KEY_ID] == 1
    _assert_same_failures(whole, [x, y])


def test_the_primary_key_vouches_for_uniqueness(store: str) -> None:
    with psycopg.connect(store) as conn:
        assert batch_quality.key_enforced(conn, POPULATION)
        assert batch_quality.key_enforced(conn, TABLES["shared.service_case_step"])


def test_quality_check_fails_only_for_the_batch_that_stored_bad_rows(store: str) -> None:
    _three_batches(store)
    assert quality_check("src", "shared.population", "src:c", store=store)["rows_validated"] == 10
    with pytest.raises(QualityCheckFailed, match=r"batch src:b .*expect_column_values_to_match_regex\(id_number\)"):
        quality_check("src", "shared.population", "src:b", store=store)


def test_a_batch_that_wrote_nothing_passes_without_gx(store: str) -> None:
    _three_batches(store)
    result = batch_quality.validate_batch(store, POPULATION, "src:nothing-changed", today=TODAY, home=hub_home())
    assert result.success and result.rows == 0 and result.evaluated == 1
    with psycopg.connect(store) as conn:  # no scratch copy is left behind
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'quality_batch'").fetchone()[0] == 0


def test_the_warm_context_survives_its_connections_being_terminated(store: str) -> None:
    insert(store, "shared.population", _rows(_ids(5), "src:full"))
    first = batch_quality.validate_batch(store, POPULATION, "src:full", today=TODAY, home=hub_home())
    assert first.success and first.rows == 5
    with psycopg.connect(store, autocommit=True) as conn:  # as a restarted server or an operator would
        ended = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()[0]
    assert ended >= 1  # the warm context's pooled connection was among them
    rows = _rows(_ids(3, start=100), "src:next")
    rows[0]["name"] = " 张三"
    insert(store, "shared.population", rows)
    after = batch_quality.validate_batch(store, POPULATION, "src:next", today=TODAY, home=hub_home())
    assert after.rows == 3 and after.failed == ["expect_column_values_to_not_match_regex(name)"]
