"""The department part of ``python -m devkit demo``: one department reads the shared store through the real data API.

:func:`department_read` registers a consuming department (with its API key), serves the API
with uvicorn on a free 127.0.0.1 port, and, as that department, reads the population resource
in one district (personal fields come back masked), is refused a 有条件共享 field it holds no grant for, and
verifies (核验) two persons. The report holds counts, masked values and match results only: the
persons verified are named by their status, never by their data.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.store.connection import connect

DEPARTMENT = ("MZ", "银川市民政局")
PURPOSE = "最低生活保障资格复核"
RESOURCE = "shared.population"
READ_FIELDS = ["id_number", "name", "region_code", "status"]
READ_FILTER = {"field": "region_code", "op": "eq", "value": "640104"}  # 兴庆区: the district the review covers
CONDITIONAL_FIELD = "phone"
READ_ROWS = 3
READ_QUERY = {"fields": READ_FIELDS, "filters": [READ_FILTER], "limit": READ_ROWS}


def _persons(uri: str) -> dict[str, tuple[str, str]]:
    """One person per status to verify (a living one matches; a deceased one does not)."""
    picked = {}
    with connect(uri) as conn:
        for status in ("NORMAL", "DECEASED"):
            row = conn.execute(
                "SELECT id_number, name FROM shared.population WHERE status = %s ORDER BY id_number LIMIT 1", (status,)
            ).fetchone()
            if row is not None:
                picked[status] = (row[0], row[1])
    return picked


def department_read(uri: str) -> dict[str, Any]:
    """Register the demo department and read through the API as it; return what it saw.

    Args:
        uri: The shared store (already loaded by the ingest DAGs).

    Returns:
        ``department``, ``resource``, ``purpose``, ``read`` (fields, masked fields, the first rows
        as the department sees them), ``refused`` (the 有条件共享 field: status and reason) and
        ``verify_person`` (one call per person status with the API's answer).
    """
    import httpx

    from hub.access import catalogue, consumers
    from hub.api.server import start_in_thread
    from hub.store.roles import local_api_uri

    code, name = DEPARTMENT
    table = catalogue.resolve(RESOURCE)
    with connect(uri, autocommit=True) as conn:
        key = consumers.register(conn, code, name)
    persons = _persons(uri)
    server = start_in_thread(local_api_uri(uri))  # the API's least-privilege role, as `hub api serve`
    headers = {"X-API-Key": key.token, "X-Purpose": quote(PURPOSE)}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60, trust_env=False) as http:
            read = http.post(f"/v1/resources/{table.code}/query", json=READ_QUERY)
            read.raise_for_status()
            refused = http.post(f"/v1/resources/{table.code}/query", json={"fields": [CONDITIONAL_FIELD], "limit": 1})
            verified = []
            for status, (id_number, person_name) in persons.items():
                answer = http.post("/v1/verify/person", json={"id_number": id_number, "name": person_name})
                answer.raise_for_status()
                verified.append({"person_status": status, "match": answer.json()["match"]})
    finally:
        server.stop()
    page = read.json()
    return {
        "department": {"code": code, "name": name},
        "resource": {"code": table.code, "table": table.qualified_name, "title": table.title},
        "purpose": PURPOSE,
        "read": {"filters": [READ_FILTER], "fields": page["fields"], "masked": page["masked"], "rows": page["rows"]},
        "refused": {"field": CONDITIONAL_FIELD, "status": refused.status_code, "reason": refused.json().get("detail")},
        "verify_person": verified,
    }
