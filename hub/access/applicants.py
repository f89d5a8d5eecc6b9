"""Binding a prefill to an applicant: the caller names a case whose applicant is the person.

Without it, prefill would return anyone's records given only an identity number. The answer is
the same whether the case does not exist or has another applicant, so it reveals neither.
"""

from __future__ import annotations

import psycopg

from hub.access.grants import AccessDenied

CASE_TABLE = "shared.service_case"


def check_case(conn: psycopg.Connection, case_no: str, id_number: str) -> None:
    """Pass when case ``case_no`` has the applicant ``id_number``.

    Raises:
        AccessDenied: no such case, or its applicant is someone else (one message for both).
    """
    if conn.execute("SELECT to_regclass(%s)", (CASE_TABLE,)).fetchone()[0] is None:
        raise AccessDenied(f"prefill needs a case in {CASE_TABLE}, which is not in the store yet")
    row = conn.execute(
        f"SELECT 1 FROM {CASE_TABLE} WHERE case_no = %s AND upper(applicant_id) = %s",
        (case_no.strip(), id_number.strip().upper()),
    ).fetchone()
    if row is None:
        raise AccessDenied(f"case {case_no.strip()!r} has no applicant with that identity number")
