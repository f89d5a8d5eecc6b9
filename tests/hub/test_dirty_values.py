"""Bad bytes from SQL and REST sources are quarantined row by row with the source's key, never a failed COPY.

The SQL case runs against a real ``SQL_ASCII`` database on the embedded server (such a database
hands out whatever bytes were stored); the REST case against a real HTTP server on 127.0.0.1
serving pages with the bytes the 人社 simulator cannot produce (its rows come from PostgreSQL,
which holds no NUL). A NUL cannot come out of PostgreSQL at all, so the SQL NUL case is covered
by the screen's own test on an Arrow batch (``tests/quality/test_screen.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import psycopg
import pytest
from psycopg import sql
from stdnum.cn import ric

from hub import registry
from hub.pipeline import run_ingest
from hub.store import embedded
from simulators.ga import population
from simulators.rs.provision import connection_json
from tests.conftest import ADMIN_URI, connection_env
from tests.http_server import serving

GA = registry.get("ga_population")
RS = registry.get("rs_social_insurance")


def _sql_ascii_database() -> str:
    name = f"sim_ascii_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URI, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").format(
                sql.Identifier(name)
            )
        )
    return embedded.database_uri(ADMIN_URI, name)


def _quarantined(store: str, source: str) -> dict[str, tuple]:
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT record_ref, rule, field, raw, raw_bytes FROM quarantine.record "
            "WHERE source = %s AND rule LIKE 'value.%%'",
            (source,),
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_sql_row_with_bytes_that_are_not_utf8_is_quarantined_with_its_key(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _sql_ascii_database()
    population.create(uri, 300, seed=7)
    monkeypatch.setenv("AIRFLOW_CONN_GA_POPULATION", connection_env(uri))
    with psycopg.connect(uri, autocommit=True) as conn:
        # a SQL_ASCII database hands text out as bytes
        picked = [r[0].decode() for r in conn.execute('SELECT "GMSFHM" FROM "T_RK_JBXX" ORDER BY "GMSFHM" LIMIT 2')]
        conn.execute(
            """UPDATE "T_RK_JBXX" SET "XM" = convert_from('\\x41ff42'::bytea, 'SQL_ASCII') WHERE "GMSFHM" = %s""",
            (picked[0],),
        )
        conn.execute("""UPDATE "T_RK_JBXX" SET "HJDZ_XZ" = 'a' || chr(1) || 'b' WHERE "GMSFHM" = %s""", (picked[1],))
    entry = run_ingest(GA, "manual__bytes", store=store)
    assert entry.status == "succeeded" and entry.balanced and entry.extracted == 300
    assert entry.rule_counts["value.invalid_utf8"] == 1 and entry.rule_counts["value.control_character"] == 1
    found = _quarantined(store, GA.name)
    by_key = {ref.split("@")[0]: v for ref, v in found.items()}
    rule, field, raw, raw_bytes = by_key[picked[0]]
    assert (rule, field) == ("value.invalid_utf8", "XM")
    assert raw["XM"] == "A\ufffdB" and b'"XM": "A\xffB"' in bytes(raw_bytes)
    rule, field, raw, raw_bytes = by_key[picked[1]]
    assert (rule, field) == ("value.control_character", "HJDZ_XZ") and "\\u0001" in bytes(raw_bytes).decode()
    with psycopg.connect(store) as conn:
        stored = {r[0] for r in conn.execute("SELECT id_number FROM shared.population").fetchall()}
    assert not stored & set(picked)
    assert entry.inserted == len(stored) > 250


# --- a real HTTP server with the bytes a department's API may send ---------------------------------------------


def _rows() -> list[bytes]:
    """Six JSON rows of one page, in (gxsj, grbh) order: two sound, four with one defect each."""
    rows = []
    for i in range(6):
        body = f"64010420000101{i + 1:03d}"  # region, birth date, sequence
        person = {
            "grbh": f"G{i:05d}",
            "sfzhm": body + ric.calc_check_digit(body + "?"),  # (stdnum skips the last character)
            "xm": "张三",
            "xzlx": "170",
            "cbzt": "1",
            "dwbh": "",
            "dwmc": "",
            "tyshxydm": "",
            "cbrq": "2020-01-01",
            "jfjs": "3000.00",
            "gxsj": f"2026-11-0{i + 1}T08:00:00+08:00",
        }
        rows.append(json.dumps(person, ensure_ascii=False).encode())
    rows[1] = rows[1].replace("张三".encode(), b"\\u0000\xe5\xbc\xa0")  # a NUL, JSON-escaped
    rows[2] = rows[2].replace("张三".encode(), b"\xff\xfe")  # bytes that are not UTF-8
    rows[3] = rows[3].replace(b'"3000.00"', b"3000.5")  # a number where text is declared
    rows[4] = rows[4].replace(b'"dwmc": ""', b'"dwmc": "a\\u0007b"')  # a control character
    return rows


class _Api(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(b'{"access_token": "t", "token_type": "Bearer", "expires_in": 1800}')

    def do_GET(self) -> None:
        self._reply(b'{"data": [' + b", ".join(_rows()) + b'], "next_cursor": null}')

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dirty_api() -> Iterator[str]:
    with serving(_Api) as url:
        yield url


def test_rest_page_rows_with_nul_bad_bytes_wrong_type_or_control_are_quarantined_with_their_key(
    store: str, dirty_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_RS_SOCIAL_INSURANCE", connection_json(dirty_api, "app", "secret"))
    entry = run_ingest(RS, "manual__dirty", store=store)
    assert entry.status == "succeeded" and entry.balanced and entry.extracted == 6
    assert (entry.inserted, entry.quarantined) == (2, 4)
    found = {ref.split("/")[0]: (rule, field) for ref, (rule, field, _, _) in _quarantined(store, RS.name).items()}
    assert found == {
        "G00001": ("value.nul_byte", "xm"),
        "G00002": ("value.invalid_utf8", "xm"),
        "G00003": ("value.type", "jfjs"),
        "G00004": ("value.control_character", "dwmc"),
    }
    with psycopg.connect(store) as conn:
        raw, raw_bytes = conn.execute(
            "SELECT raw, raw_bytes FROM quarantine.record WHERE record_ref LIKE 'G00001/%'"
        ).fetchone()
        loaded = sorted(r[0] for r in conn.execute("SELECT person_no FROM shared.social_insurance").fetchall())
    assert raw["xm"] == "\ufffd张" and b'"xm": "\\u0000\xe5\xbc\xa0"' in bytes(raw_bytes)
    assert loaded == ["G00000", "G00005"]
