"""Cross-department findings on the real store: each dirt kind lands under its rule; the rows stay loaded."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from quality import findings
from tests.quality.shared_rows import insert
from tests.schemas.test_identity import id_candidates
from tests.schemas.test_uscc import ALPHA

ALIVE = "11010519491231002X"
DEAD = "11010519500101003" + ric.calc_check_digit("11010519500101003" + "0")
STRANGER = "31010419800101001" + ric.calc_check_digit("31010419800101001" + "0")
ACTIVE_CO = "91110000600037341L"


def _org_check(body8: str) -> str:
    """GB 11714 check character (standards.md: weights 3 7 9 10 5 8 4 2, 10 -> X, 11 -> 0)."""
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body8]
    c = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def _uscc(head8: str, body8: str) -> str:
    first17 = head8 + body8 + _org_check(body8)
    return first17 + stdnum_uscc.calc_check_digit(first17)


REVOKED_CO = _uscc("91640100", "MA76X123")
UNKNOWN_CO = _uscc("91640100", "MA76X999")


def _person(id_number: str, status: str) -> dict:
    return {
        "id_number": id_number,
        "name": "张三",
        "gender": "1" if int(id_number[16]) % 2 else "2",
        "birth_date": dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
        "region_code": id_number[:6],
        "status": status,
    }


def _entity(code: str, status: str, legal_rep_id: str | None) -> dict:
    return {
        "uscc": code,
        "name": "宁夏测试有限公司",
        "entity_type": "1100",
        "legal_rep_id": legal_rep_id,
        "established_on": dt.date(2001, 1, 1),
        "approved_on": dt.date(2001, 1, 1),
        "authority_name": "银川市市场监督管理局",
        "authority_code": ACTIVE_CO,
        "status": status,
    }


def _enrolment(person_no: str, kind: str, id_number: str, status: str, employer: str | None) -> dict:
    return {
        "person_no": person_no,
        "insurance_type": kind,
        "id_number": id_number,
        "name": "张三",
        "status": status,
        "employer_uscc": employer,
        "enrolled_on": dt.date(2010, 1, 1),
    }


def _step(step_no: int, kind: str, applicant_id: str) -> dict:
    return {
        "step_no": step_no,
        "case_no": f"C{step_no}",
        "item_code": "000000000001",
        "item_name": "测试事项",
        "applicant_type": kind,
        "applicant_id": applicant_id,
        "dept_code": ACTIVE_CO,
        "dept_name": "测试局",
        "channel": "WEB",
        "step": "SQ",
        "step_at": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
    }


def _seed(store: str) -> None:
    insert(store, "shared.population", [_person(ALIVE, "NORMAL"), _person(DEAD, "DECEASED")])
    bad_rep = ALIVE[:17] + "0"
    insert(
        store,
        "shared.market_entity",
        [_entity(ACTIVE_CO, "ACTIVE", ALIVE), _entity(REVOKED_CO, "REVOKED", bad_rep)],
    )
    insert(
        store,
        "shared.social_insurance",
        [
            _enrolment("P1", "110", ALIVE, "ACTIVE", ACTIVE_CO),  # clean
            _enrolment("P2", "110", STRANGER, "ACTIVE", ACTIVE_CO),  # absent from population
            _enrolment("P3", "110", DEAD, "ACTIVE", ACTIVE_CO),  # dead but paying
            _enrolment("P3", "210", DEAD, "TERMINATED", ACTIVE_CO),  # dead, terminated: fine
            _enrolment("P1", "210", ALIVE, "ACTIVE", UNKNOWN_CO),  # employer unknown
            _enrolment("P1", "410", ALIVE, "ACTIVE", REVOKED_CO),  # employer revoked
        ],
    )
    insert(
        store,
        "shared.medical_insurance",
        [_enrolment("M1", "310", DEAD, "ACTIVE", None), _enrolment("M2", "390", STRANGER, "SUSPENDED", None)],
    )
    insert(
        store,
        "shared.service_case_step",
        [
            _step(1, "PERSON", ALIVE),
            _step(2, "PERSON", ALIVE[:17] + "1"),  # wrong check character
            _step(3, "ORG", ACTIVE_CO),
            _step(4, "ORG", ACTIVE_CO[:17] + "M"),  # wrong check character
            _step(5, "PERSON", ACTIVE_CO),  # a USCC where an identity number belongs
            _step(6, "PERSON", ALIVE.lower()),  # lower-case x is a repair, not a failure
            _step(7, "PERSON", ALIVE) | {"case_no": "C1", "satisfaction": 5},  # evaluation, C1 never completed
            _step(8, "PERSON", ALIVE) | {"case_no": "C3", "step": "BJ", "result": "APPROVED"},
            _step(9, "PERSON", ALIVE) | {"case_no": "C3", "satisfaction": 4},  # evaluation after BJ: fine
        ],
    )


def _open(store: str) -> set[tuple[str, str, str]]:
    with psycopg.connect(store) as conn:
        return set(conn.execute("SELECT source, rule, record_key FROM quality.finding WHERE status = 'open'"))


def test_each_cross_department_problem_is_a_finding_and_rows_stay(store: str) -> None:
    _seed(store)
    run = findings.run_checks(store, "check-1")
    assert _open(store) == {
        ("shared.social_insurance", "person.not_in_population", "P2/110"),
        ("shared.social_insurance", "person.deceased_but_active", "P3/110"),
        ("shared.social_insurance", "employer.unknown_uscc", "P1/210"),
        ("shared.social_insurance", "employer.not_active", "P1/410"),
        ("shared.medical_insurance", "person.deceased_but_active", "M1/310"),
        ("shared.medical_insurance", "person.not_in_population", "M2/390"),
        ("shared.market_entity", "legal_rep_id.gb11643", REVOKED_CO),
        ("shared.service_case_step", "applicant_id.check", "2"),
        ("shared.service_case_step", "applicant_id.check", "4"),
        ("shared.service_case_step", "applicant_id.check", "5"),
        ("shared.service_case_step", "case.evaluation_without_completion", "7"),
    }
    assert run.counts[("shared.social_insurance", "person.not_in_population")] == 1
    assert run.total == 11
    with psycopg.connect(store) as conn:
        related = conn.execute(
            "SELECT related_table, related_key FROM quality.finding WHERE rule = 'employer.unknown_uscc'"
        ).fetchone()
        assert related == ("shared.market_entity", UNKNOWN_CO)
        assert conn.execute("SELECT count(*) FROM shared.social_insurance").fetchone()[0] == 6
    summary = {(s["source"], s["rule"]): s["open"] for s in findings.summary(store)}
    assert summary[("shared.service_case_step", "applicant_id.check")] == 3


def test_a_fixed_problem_is_resolved_not_deleted(store: str) -> None:
    _seed(store)
    findings.run_checks(store, "check-1")
    insert(store, "shared.population", [_person(STRANGER, "NORMAL")])
    with psycopg.connect(store) as conn:
        conn.execute("UPDATE shared.market_entity SET status = 'ACTIVE' WHERE uscc = %s", (REVOKED_CO,))
    insert(store, "shared.service_case_step", [_step(10, "PERSON", ALIVE) | {"case_no": "C1", "step": "BJ"}])
    run = findings.run_checks(store, "check-2")
    assert run.resolved == 4  # P2 and M2 now known, P1/410's employer active again, C1's BJ arrived late
    with psycopg.connect(store) as conn:
        states = dict(
            conn.execute(
                "SELECT record_key, status FROM quality.finding WHERE rule IN "
                "('person.not_in_population', 'employer.not_active')"
            ).fetchall()
        )
    assert states == {"P2/110": "resolved", "M2/390": "resolved", "P1/410": "resolved"}
    assert findings.run_checks(store, "check-3").resolved == 0  # stable


@st.composite
def identifiers(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        return "PERSON", draw(id_candidates())
    head = draw(st.text("0123456789", min_size=8, max_size=8))
    body = draw(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8))
    first17 = head + body + _org_check(body)
    last = draw(st.sampled_from(ALPHA))
    if draw(st.booleans()):
        last = stdnum_uscc.calc_check_digit(first17)
    return "ORG", first17 + last


@settings(max_examples=300, deadline=None)
@given(st.lists(identifiers(), min_size=1, max_size=40))
def test_identifier_failures_agree_with_python_stdnum(values: list[tuple[str, str]]) -> None:
    kinds = pa.array([k for k, _ in values])
    ids = pa.array([v for _, v in values])
    failing = findings.identifier_failures(ids, kinds).tolist()
    oracle = [not (ric.is_valid(v) if k == "PERSON" else stdnum_uscc.is_valid(v)) for k, v in values]
    # stdnum knows no future: our check also refuses birth dates after today
    today = dt.date.today()
    for i, (k, v) in enumerate(values):
        if k == "PERSON" and ric.is_valid(v) and ric.get_birth_date(v) > today:
            oracle[i] = True
    assert failing == oracle
