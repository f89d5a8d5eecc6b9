"""Cross-department consistency: what no single department can check, recorded as findings.

The rows stay loaded (each department's table is its own truth); every problem becomes a row
of ``quality.finding`` (source table, rule, record key, related record). Joins across tables
run set-wise in SQL; the check-digit rules fetch the identifier columns as Arrow through ADBC
and run the vectorised GB 11643 / GB 32100 checks. A check run replaces the open findings:
problems still present keep their row, problems gone are marked resolved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.connections import connect
from schemas.standards import identity, uscc

_STAGE = "stg_finding"
_FINDING_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("rule", pa.string()),
        ("record_key", pa.string()),
        ("related_table", pa.string()),
        ("related_key", pa.string()),
        ("message", pa.string()),
    ]
)
_INSURANCE = ("shared.social_insurance", "shared.medical_insurance")
_INSURED_KEY = "person_no || '/' || insurance_type"


@dataclass(frozen=True)
class SqlCheck:
    """A set-wise consistency check: a SELECT yielding (record_key, related_key) per problem."""

    source: str
    rule: str
    related_table: str
    message: str
    select: str


def sql_checks() -> list[SqlCheck]:
    """The set-wise SQL checks.

    Insurance tables against the population and market-entity registries, and evaluations of
    cases the case system never completed (a step arriving late resolves its finding at the next check).
    """
    checks: list[SqlCheck] = []
    for table in _INSURANCE:
        checks += [
            SqlCheck(
                table,
                "person.not_in_population",
                "shared.population",
                "insured person's identity number is absent from the population registry",
                f"SELECT {_INSURED_KEY}, i.id_number FROM {table} i "
                "WHERE NOT EXISTS (SELECT 1 FROM shared.population p WHERE p.id_number = i.id_number)",
            ),
            SqlCheck(
                table,
                "person.deceased_but_active",
                "shared.population",
                "insured person is recorded dead in the population registry but the enrolment is still active",
                f"SELECT {_INSURED_KEY}, i.id_number FROM {table} i "
                "JOIN shared.population p ON p.id_number = i.id_number "
                "WHERE i.status = 'ACTIVE' AND p.status = 'DECEASED'",
            ),
            SqlCheck(
                table,
                "employer.unknown_uscc",
                "shared.market_entity",
                "employer's USCC is unknown to the market-entity registry",
                f"SELECT {_INSURED_KEY}, i.employer_uscc FROM {table} i WHERE i.employer_uscc IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM shared.market_entity m WHERE m.uscc = i.employer_uscc)",
            ),
            SqlCheck(
                table,
                "employer.not_active",
                "shared.market_entity",
                "employer is not 存续 in the market-entity registry but the enrolment is still active",
                f"SELECT {_INSURED_KEY}, i.employer_uscc FROM {table} i "
                "JOIN shared.market_entity m ON m.uscc = i.employer_uscc "
                "WHERE i.status = 'ACTIVE' AND m.status <> 'ACTIVE'",
            ),
        ]
    checks.append(
        SqlCheck(
            "shared.service_case_step",
            "case.evaluation_without_completion",
            "shared.service_case_step",
            "an evaluation (满意度) arrived for a case with no 办结 (BJ) step",
            "SELECT s.step_no::text, s.case_no FROM shared.service_case_step s WHERE s.satisfaction IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM shared.service_case_step b WHERE b.case_no = s.case_no AND b.step = 'BJ')",
        )
    )
    return checks


@dataclass(frozen=True)
class CheckRun:
    """What one consistency check run found."""

    run_id: str
    counts: dict[tuple[str, str], int]
    resolved: int

    @property
    def total(self) -> int:
        """Open findings after the run."""
        return sum(self.counts.values())


def identifier_failures(ids: pa.Array | pa.ChunkedArray, kinds: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which identifiers fail their standard: ``PERSON`` rows GB 11643, ``ORG`` rows GB 32100 (with GB 11714).

    Identity numbers are normalised first (spaces, full width, lower-case ``x``, legacy 15 digits
    are repairs, not failures). Null identifiers are not judged here.

    Args:
        ids: Identifier values.
        kinds: ``PERSON`` or ``ORG`` per row.

    Returns:
        Boolean mask of failing rows.
    """
    present = pc.fill_null(pc.is_valid(ids), False).to_numpy(zero_copy_only=False)
    person = pc.fill_null(pc.equal(kinds, "PERSON"), False).to_numpy(zero_copy_only=False)
    org = pc.fill_null(pc.equal(kinds, "ORG"), False).to_numpy(zero_copy_only=False)
    normalised, _ = identity.normalize(ids)
    person_bad = ~identity.check(normalised).valid
    org_bad = ~uscc.check(uscc.normalize(ids)).valid
    return present & ((person & person_bad) | (org & org_bad))


def _identifier_findings(cur: object) -> list[pa.Table]:
    """Legal representatives and case applicants whose identifiers fail their check digit."""
    queries = [
        (
            "shared.market_entity",
            "legal_rep_id.gb11643",
            "legal representative's identity number fails GB 11643-1999",
            "SELECT uscc AS record_key, legal_rep_id AS id, 'PERSON' AS kind FROM shared.market_entity "
            "WHERE legal_rep_id IS NOT NULL",
        ),
        (
            "shared.service_case_step",
            "applicant_id.check",
            "applicant's identifier fails its standard (GB 11643 for a person, GB 32100 for an organisation)",
            "SELECT step_no::text AS record_key, applicant_id AS id, applicant_type AS kind "
            "FROM shared.service_case_step WHERE applicant_id IS NOT NULL",
        ),
        (
            "shared.service_case",
            "applicant_id.check",
            "applicant's identifier fails its standard (GB 11643 for a person, GB 32100 for an organisation)",
            "SELECT case_no AS record_key, applicant_id AS id, applicant_type AS kind "
            "FROM shared.service_case WHERE applicant_id IS NOT NULL",
        ),
    ]
    out = []
    for source, rule, message, sql in queries:
        cur.execute(sql)  # type: ignore[attr-defined]
        rows: pa.Table = cur.fetch_arrow_table()  # type: ignore[attr-defined]
        if rows.num_rows == 0:
            continue
        bad = rows.filter(pa.array(identifier_failures(rows["id"], rows["kind"])))
        n = bad.num_rows
        out.append(
            pa.table(
                [
                    pa.array([source] * n, pa.string()),
                    pa.array([rule] * n, pa.string()),
                    bad["record_key"].cast(pa.string()),
                    pa.nulls(n, pa.string()),
                    pa.nulls(n, pa.string()),
                    pa.array([message] * n, pa.string()),
                ],
                schema=_FINDING_SCHEMA,
            )
        )
    return out


def run_checks(uri: str, run_id: str | None = None) -> CheckRun:
    """Recompute every cross-department finding in one transaction.

    Args:
        uri: The shared store.
        run_id: Identifier of this check run (defaults to a UTC timestamp).

    Returns:
        Open findings per (source, rule) and how many earlier findings were resolved.
    """
    import adbc_driver_postgresql.dbapi as adbc

    run_id = run_id or dt.datetime.now(dt.UTC).strftime("check-%Y%m%dT%H%M%S.%fZ")
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE {_STAGE} (source text, rule text, record_key text, related_table text, "
            "related_key text, message text) ON COMMIT DROP"
        )
        for check in sql_checks():
            cur.execute(
                f"INSERT INTO {_STAGE} SELECT $1, $2, q.record_key, $3, q.related_key, $4 "
                f"FROM ({check.select}) AS q(record_key, related_key)",
                parameters=(check.source, check.rule, check.related_table, check.message),
            )
        for found in _identifier_findings(cur):
            if found.num_rows:
                cur.adbc_ingest(_STAGE, found, mode="append", temporary=True)
        cur.execute(
            "INSERT INTO quality.finding (source, rule, record_key, related_table, related_key, message, check_run_id) "
            f"SELECT DISTINCT ON (source, rule, record_key) source, rule, record_key, related_table, related_key, "
            f"message, $1 FROM {_STAGE} ORDER BY source, rule, record_key "
            "ON CONFLICT (source, rule, record_key) DO UPDATE SET status = 'open', resolved_at = NULL, "
            "related_key = excluded.related_key, message = excluded.message, "
            "check_run_id = excluded.check_run_id, last_seen_at = now()",
            parameters=(run_id,),
        )
        cur.execute(
            "WITH gone AS (UPDATE quality.finding SET status = 'resolved', resolved_at = now() "
            "WHERE status = 'open' AND check_run_id <> $1 RETURNING 1) SELECT count(*) FROM gone",
            parameters=(run_id,),
        )
        resolved = int(cur.fetchone()[0])
        cur.execute("SELECT source, rule, count(*) FROM quality.finding WHERE status = 'open' GROUP BY source, rule")
        counts = {(s, r): int(n) for s, r, n in cur.fetchall()}
        conn.commit()
    return CheckRun(run_id=run_id, counts=counts, resolved=resolved)


def summary(uri: str) -> list[dict]:
    """``quality.finding_summary`` rows: open and resolved findings per source and rule."""
    from psycopg.rows import dict_row

    with connect(uri, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT source, rule, open, resolved, last_seen_at FROM quality.finding_summary ORDER BY source, rule"
        ).fetchall()
    return [{**r, "last_seen_at": r["last_seen_at"].isoformat() if r["last_seen_at"] else None} for r in rows]
