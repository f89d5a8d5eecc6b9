"""Field checks the platform applies to every record before looking at versions.

Each check returns ``None`` for a good record or ``(code, message)``; messages name the field and
never repeat personal data. Identifiers are checked with the platform's own code
(:mod:`simulators.province.identifiers`), never the hub's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from simulators.province import identifiers

Problem = tuple[str, str] | None

CERT_STATUS = ("VALID", "REVOKED", "CANCELLED")
HOLDER_ID_TYPES = ("111", "001")
APPLICANT_TYPES = ("PERSON", "ORG")
CHANNELS = ("WINDOW", "WEB", "MOBILE", "KIOSK")
CASE_STATUS = ("SUBMITTED", "ACCEPTED", "PROCESSING", "COMPLETED", "NOT_ACCEPTED", "WITHDRAWN")
CASE_RESULTS = ("APPROVED", "DENIED")
# A case only moves forward; the last three are final.
CASE_RANK = {"SUBMITTED": 0, "ACCEPTED": 1, "PROCESSING": 2, "COMPLETED": 3, "NOT_ACCEPTED": 3, "WITHDRAWN": 3}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _text(rec: dict[str, Any], name: str, nullable: bool = False) -> Problem:
    value = rec.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value.strip():
        return "INVALID_FIELD", f"{name} must be a non-empty string"
    return None


def _enum(rec: dict[str, Any], name: str, allowed: tuple[str, ...], nullable: bool = False) -> Problem:
    value = rec.get(name)
    if value is None and nullable:
        return None
    if value not in allowed:
        return "INVALID_FIELD", f"{name} must be one of {', '.join(allowed)}"
    return None


def _date(rec: dict[str, Any], name: str, nullable: bool = False) -> Problem:
    value = rec.get(name)
    if value is None and nullable:
        return None
    try:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        return "INVALID_FIELD", f"{name} must be a date YYYY-MM-DD"
    return None


def _instant(rec: dict[str, Any], name: str, nullable: bool = True) -> Problem:
    value = rec.get(name)
    if value is None and nullable:
        return None
    try:
        if not isinstance(value, str) or dt.datetime.fromisoformat(value).utcoffset() is None:
            raise ValueError
    except ValueError:
        return "INVALID_FIELD", f"{name} must be ISO-8601 with an offset"
    return None


def _int(rec: dict[str, Any], name: str, low: int, high: int | None = None, nullable: bool = False) -> Problem:
    value = rec.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        return "INVALID_FIELD", f"{name} must be an integer in {low}..{high if high is not None else ''}"
    return None


def _first(checks: list[Callable[[], Problem]]) -> Problem:
    for check in checks:
        problem = check()
        if problem is not None:
            return problem
    return None


def certificate_fields(rec: dict[str, Any]) -> Problem:
    """Presence, types and codes of a certificate's fields, and its identifier's form and check."""
    problem = _first(
        [
            lambda: _text(rec, "certificate_id"),
            lambda: _int(rec, "version", 1, 999),
            *(lambda n=n: _text(rec, n) for n in ("type_code", "type_name", "number", "holder_name", "holder_id")),
            lambda: _enum(rec, "holder_id_type", HOLDER_ID_TYPES),
            lambda: _text(rec, "issuer_name"),
            lambda: _text(rec, "issuer_code"),
            lambda: _date(rec, "issue_date"),
            lambda: _date(rec, "valid_from"),
            lambda: _date(rec, "valid_to", nullable=True),
            lambda: _enum(rec, "status", CERT_STATUS),
            lambda: None if isinstance(rec.get("face"), dict) else ("INVALID_FIELD", "face must be an object"),
            lambda: _text(rec, "signature"),
        ]
    )
    if problem is not None:
        return problem
    parsed = identifiers.certificate_id(rec["certificate_id"])
    if parsed is None:
        return "INVALID_FIELD", "certificate_id is not a GB/T 36904 identifier"
    if parsed.version != rec["version"]:
        return "INVALID_FIELD", "version differs from the identifier's version field"
    if parsed.type_code != rec["type_code"]:
        return "INVALID_FIELD", "type_code differs from the identifier's type code"
    if not parsed.check_ok:
        return "BAD_CHECKSUM", "certificate_id check character (MOD 37,36) is wrong"
    return None


def case_fields(rec: dict[str, Any]) -> Problem:
    """Presence, types and codes of a case record's fields."""
    return _first(
        [
            lambda: _text(rec, "case_no"),
            lambda: _int(rec, "version", 1),
            lambda: _text(rec, "item_code"),
            lambda: _text(rec, "item_name"),
            lambda: _enum(rec, "applicant_type", APPLICANT_TYPES),
            lambda: _text(rec, "applicant_name", nullable=True),
            lambda: _text(rec, "applicant_id"),
            lambda: _text(rec, "dept_code"),
            lambda: _text(rec, "dept_name"),
            lambda: _enum(rec, "channel", CHANNELS),
            lambda: _enum(rec, "status", CASE_STATUS),
            lambda: _instant(rec, "submitted_at", nullable=False),
            lambda: _instant(rec, "accepted_at"),
            lambda: _instant(rec, "completed_at"),
            lambda: _int(rec, "promised_days", 0, nullable=True),
            lambda: _enum(rec, "result", CASE_RESULTS, nullable=True),
            lambda: _int(rec, "satisfaction", 1, 5, nullable=True),
        ]
    )


def id_checks(pairs: list[tuple[str, str]]) -> list[bool]:
    """Verdicts for ``(kind, value)`` pairs, kind ``person`` (GB 11643) or ``org`` (USCC), exact form."""
    today = dt.datetime.now(SHANGHAI).date()
    return [
        identifiers.identity_number_ok(value, today) if kind == "person" else identifiers.uscc_ok(value)
        for kind, value in pairs
    ]
