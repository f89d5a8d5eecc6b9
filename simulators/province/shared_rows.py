"""Rows written straight into the shared tables the push reads (tests, the bench, the demo).

``shared.market_entity``, ``shared.social_insurance`` and ``shared.service_case`` are filled by
their own ingest DAGs; this module writes valid, deterministic rows directly so the push can be
exercised on its own. Identifiers carry correct check characters unless asked otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import psycopg
from stdnum.cn import ric

from simulators.sc.entities import authority_codes, make_usccs

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DEPT = ("银川市政务服务管理局", "11640100MB1899011L")
_CASE_FLOW = ("SUBMITTED", "ACCEPTED", "PROCESSING", "COMPLETED")


def identity_numbers(n: int, seed: int) -> list[str]:
    """``n`` distinct valid GB 11643 numbers of 银川 residents."""
    rng = np.random.default_rng([seed, 11643])
    # 20,000 birth days; past that the sequence number (i % 999, and 20,000 % 999 = 20) keeps them distinct
    days = rng.permutation(20_000)[np.arange(n) % 20_000]
    birth = np.datetime64("1950-01-01") + days.astype("timedelta64[D]")
    body = [f"640104{str(b).replace('-', '')}{(i % 999) + 1:03d}" for i, b in enumerate(birth)]
    return [b + ric.calc_check_digit(b + "0") for b in body]  # python-stdnum, not the hub's own GB 11643 code


def usccs(n: int, seed: int) -> list[str]:
    """``n`` distinct valid USCCs of 银川 enterprises."""
    rng = np.random.default_rng([seed, 32100])
    m = make_usccs(rng, np.array(["1100"] * n), np.tile(np.frombuffer(b"640104", dtype=np.uint8), (n, 1)))
    return [bytes(row).decode() for row in m]


def _lineage(source: str) -> tuple[str, str, dt.datetime, str]:
    return source, f"{source}:direct", dt.datetime.now(dt.UTC), "direct"


def insert_entities(uri: str, n: int, seed: int = 1, status: str = "ACTIVE") -> list[str]:
    """Insert ``n`` market entities; return their USCCs."""
    codes = usccs(n, seed)
    auth_name, auth_code = next(iter(authority_codes().items()))
    reps = identity_numbers(n, seed + 1)
    rows = [
        (
            c,
            f"宁夏塞上商贸{i}有限公司",
            "1100",
            "张三",
            reps[i],
            100 + i,
            dt.date(2015, 1, 1),
            dt.date(2015, 1, 2),
            auth_name,
            auth_code,
            status,
            "宁夏银川市兴庆区解放西街1号",
            "640104",
            "一般项目：商贸",
            dt.datetime(2026, 1, 1, tzinfo=SHANGHAI),
            *_lineage("sc_market_entity"),
        )
        for i, c in enumerate(codes)
    ]
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO shared.market_entity (uscc, name, entity_type, legal_rep, legal_rep_id, registered_capital,"
            " established_on, approved_on, authority_name, authority_code, status, address, region_code,"
            " business_scope, source_updated_at, source_system, batch_id, loaded_at, record_hash) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return codes


def insert_cards(uri: str, n: int, seed: int = 2) -> list[str]:
    """Insert ``n`` insured persons with an issued card (two insurance types each); return person numbers."""
    ids = identity_numbers(n, seed)
    rows = []
    for i, id_number in enumerate(ids):
        for itype in ("110", "170"):
            rows.append(
                (
                    f"P{seed:02d}{i:08d}",
                    itype,
                    id_number,
                    f"李{i}",
                    "ACTIVE",
                    dt.date(2010, 1, 1),
                    f"640100D{seed:02d}{i:07d}",
                    dt.date(2018, 5, 1 + i % 28),
                    dt.datetime(2026, 1, 1, tzinfo=SHANGHAI),
                    *_lineage("rs_social_insurance"),
                )
            )
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO shared.social_insurance (person_no, insurance_type, id_number, name, status, enrolled_on,"
            " card_no, card_issued_on, source_updated_at, source_system, batch_id, loaded_at, record_hash) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return [f"P{seed:02d}{i:08d}" for i in range(n)]


def case_row(case_no: str, version: int, applicant_id: str, status: str | None = None) -> dict[str, Any]:
    """A ``shared.service_case`` row at ``version`` (its status follows the usual flow)."""
    submitted = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    status = status or _CASE_FLOW[min(version, len(_CASE_FLOW)) - 1]
    done = status == "COMPLETED"
    return {
        "case_no": case_no,
        "version": version,
        "item_code": "640100000001",
        "item_name": "个体工商户设立登记",
        "applicant_type": "PERSON",
        "applicant_name": "王五",
        "applicant_id": applicant_id,
        "dept_code": DEPT[1],
        "dept_name": DEPT[0],
        "channel": "WEB",
        "status": status,
        "submitted_at": submitted,
        "accepted_at": submitted + dt.timedelta(hours=1) if version > 1 else None,
        "completed_at": submitted + dt.timedelta(days=2) if done else None,
        "promised_days": 5,
        "result": "APPROVED" if done else None,
        "satisfaction": 5 if done else None,
        "last_step_no": version,
        "source_updated_at": submitted + dt.timedelta(hours=version),
    }


def upsert_cases(uri: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace ``shared.service_case`` rows (as the case ingest would)."""
    if not rows:
        return
    cols = list(rows[0])
    names = ", ".join([*cols, "source_system", "batch_id", "loaded_at", "record_hash"])
    marks = ", ".join(["%s"] * (len(cols) + 4))
    update = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "case_no")
    with psycopg.connect(uri) as conn, conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO shared.service_case ({names}) VALUES ({marks}) ON CONFLICT (case_no) DO UPDATE SET {update}",
            [(*(r[c] for c in cols), *_lineage("zw_service_case")) for r in rows],
        )


def insert_cases(uri: str, n: int, version: int = 1, seed: int = 3) -> list[str]:
    """Insert or advance ``n`` cases to ``version``; return their case numbers."""
    ids = identity_numbers(n, seed)
    numbers = [f"SQ2026110{seed:02d}{i:07d}" for i in range(n)]
    upsert_cases(uri, [case_row(c, version, ids[i]) for i, c in enumerate(numbers)])
    return numbers
