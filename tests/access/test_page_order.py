"""The paging order of a masked key tells nothing about what the mask hides (issue 14).

An identity number sorts the people of a region by birth date, so paging by it would place each
masked row at its birth date. These tests read the population resource through the real API, as a
department that sees ``id_number`` masked, and check that the order of its pages does not follow
the hidden birth dates, that paging still returns every row once, and that the secret of the order
is out of the departments' reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict

import numpy as np
import psycopg
import pytest

from hub.access import catalogue, grants, sqlviews
from hub.access.masking import mask
from hub.store import page_order
from hub.store.roles import local_api_uri, with_login
from schemas.model import PersonalClass
from schemas.tables import TABLES
from tests.access.conftest import Hub, client

POPULATION = "640100-GA-0001"


def _page_all(api: str, key: str, limit: int, fields: tuple[str, ...] = ("id_number",)) -> list[dict]:
    """Every row of the population resource (``fields``, as the department sees them), in page order."""
    seen: list[dict] = []
    after = None
    with client(api, key) as http:
        while True:
            body = {"fields": list(fields), "limit": limit, "after": after}
            page = http.post(f"/v1/resources/{POPULATION}/query", json=body).json()
            assert "id_number" in page["masked"]
            seen.extend(page["rows"])
            after = page["next_cursor"]
            if after is None:
                return seen


def _stored_ids(hub: Hub) -> list[str]:
    with hub.connect() as conn:
        return [r[0] for r in conn.execute("SELECT id_number FROM shared.population")]


def _hmac_order(hub: Hub, ids: list[str]) -> list[str]:
    """``ids`` sorted by HMAC-SHA256 under the store's secret, computed here from its pads (RFC 2104)."""
    with hub.connect() as conn:
        inner, outer = conn.execute("SELECT inner_pad, outer_pad FROM hub.page_order_key").fetchone()

    def digest(value: str) -> bytes:
        return hashlib.sha256(bytes(outer) + hashlib.sha256(bytes(inner) + value.encode()).digest()).digest()

    return sorted(ids, key=digest)


def _birth_date(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def _spearman(x: list[float], y: list[float]) -> float:
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def test_paging_a_masked_key_returns_every_row_once_in_the_secret_order(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    seen = [r["id_number"] for r in _page_all(api, key, limit=170)]
    stored = _stored_ids(hub_store)
    assert len(seen) == len(stored)
    assert seen == [mask(PersonalClass.IDENTIFIER, i) for i in _hmac_order(hub_store, stored)]


def test_the_page_order_does_not_follow_the_hidden_birth_date(hub_store: Hub, api: str) -> None:
    _, key = hub_store.new_department()
    shown = ("id_number", "name", "address", "gender", "ethnicity")
    seen = _page_all(api, key, limit=500, fields=shown)
    # the department sees each row masked; the test, which knows the store, maps a row back to its
    # person where the masked row is unique (the simulator's sequence numbers repeat, so the masked
    # number alone rarely is)
    people: dict[tuple, list[str]] = defaultdict(list)
    with hub_store.connect() as conn:
        for i, name, address, gender, ethnicity in conn.execute(f"SELECT {', '.join(shown)} FROM shared.population"):
            masked = (mask(PersonalClass.IDENTIFIER, i), mask(PersonalClass.NAME, name))
            people[(*masked, mask(PersonalClass.ADDRESS, address), gender, ethnicity)].append(i)
    region: dict[str, list[tuple[int, dt.date]]] = defaultdict(list)
    for position, row in enumerate(seen):
        match = people[tuple(row[f] for f in shown)]
        if len(match) == 1:
            region[row["id_number"][:6]].append((position, _birth_date(match[0])))
    # within a region the stored order is the birth-date order, so that is where the leak was
    largest = max(region.values(), key=len)
    assert len(largest) >= 300
    rho = _spearman([p for p, _ in largest], [b.toordinal() for _, b in largest])
    assert abs(rho) < 0.25, f"page position correlates with the hidden birth date (Spearman {rho:.2f})"
    # and across all regions: the region shown in clear no longer clusters the pages
    weighted = sum(len(v) * _spearman([p for p, _ in v], [b.toordinal() for _, b in v]) for v in region.values())
    assert abs(weighted / sum(len(v) for v in region.values())) < 0.15


def test_a_department_granted_the_key_still_pages_by_the_key(hub_store: Hub, api: str) -> None:
    dept, key = hub_store.new_department()
    table = catalogue.resolve(POPULATION)
    with client(api, key) as http:
        first = http.post(f"/v1/resources/{POPULATION}/query", json={"fields": ["gender"], "limit": 50}).json()
    with hub_store.connect() as conn:
        app_id = grants.apply(conn, dept, table, ["id_number"], "办理社会救助", ["id_number"])
        grants.approve(conn, app_id, table.provider)
        stored = sorted(_stored_ids(hub_store))
    with client(api, key) as http:
        page = http.post(f"/v1/resources/{POPULATION}/query", json={"fields": ["id_number"], "limit": 50}).json()
        assert page["masked"] == [] and [r["id_number"] for r in page["rows"]] == stored[:50]
        # a cursor of the masked order does not mean a position in the key's order
        stale = http.post(
            f"/v1/resources/{POPULATION}/query", json={"fields": ["gender"], "after": first["next_cursor"]}
        )
    assert stale.status_code == 400 and "another ordering" in stale.json()["detail"]


def test_a_masked_key_is_paged_through_its_digest_index(hub_store: Hub) -> None:
    col = page_order.DIGEST_COLUMN
    with hub_store.connect() as conn:
        # the test table is small; the point is that the index gives the order (no sort of the digests)
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f"EXPLAIN SELECT name, {col} AS _d FROM shared.population WHERE {col} > %s ORDER BY _d LIMIT 501",
                (b"\x80",),
            )
        )
    assert "Index Scan using population_page_digest_idx" in plan and "Sort" not in plan


def test_every_table_with_a_personal_key_has_a_digest_index(hub_store: Hub) -> None:
    with hub_store.connect() as conn:
        # the stored digest is HMAC-SHA256 of the key (checked against the order computed in Python above)
        assert conn.execute("SELECT count(*) FROM shared.population WHERE _page_digest IS NULL").fetchone() == (0,)
        indexed = {
            r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_page_digest_idx'")
        }
    expected = {f"{t.name}_page_digest_idx" for t in TABLES.values() if page_order.has_personal_key(t)}
    assert "population_page_digest_idx" in expected and expected <= indexed


def test_the_secret_of_the_order_is_out_of_a_departments_reach(hub_store: Hub) -> None:
    dept, _ = hub_store.new_department()
    with hub_store.connect() as conn:
        role, password = sqlviews.enable(conn, dept)
        assert conn.execute("SELECT count(*) FROM hub.page_order_key").fetchone() == (1,)
    with psycopg.connect(local_api_uri(hub_store.uri), autocommit=True) as conn:  # not even the API's role
        for probe in ("SELECT inner_pad FROM hub.page_order_key", "SELECT hub.page_digest('640104199001011234')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(probe)
    with psycopg.connect(with_login(hub_store.uri, role, password), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT inner_pad FROM hub.page_order_key")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT hub.page_digest('640104199001011234')")
        # nor is it in the catalogue: the functions, the key-update trigger and the column's defaults carry
        # no key material (the loader reads the secret from the table when it writes)
        text = " ".join(
            r[0] or ""
            for r in conn.execute(
                "SELECT prosrc FROM pg_proc WHERE proname LIKE '%%page_digest' UNION ALL "
                "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgname LIKE '%%page_digest%%' UNION ALL "
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid "
                "WHERE c.relname = 'population'"
            )
        )
    assert "page_order_key" in text and "page_digest(new.id_number)" in text.lower() and "\\x" not in text


def test_digests_differ_between_stores(hub_store: Hub) -> None:
    # the secret is drawn per store, never a constant of the code
    from hub.store.migrate import migrate
    from tests.conftest import fresh_database

    other = fresh_database("page_order_other")
    migrate(other)
    digests = []
    for uri in (hub_store.uri, other):
        with psycopg.connect(uri, autocommit=True) as conn:
            digests.append(conn.execute("SELECT hub.page_digest('640104199001011234')").fetchone()[0])
    assert len(Counter(bytes(d) for d in digests)) == 2
