"""What the simulated platform accepted, in its own PostgreSQL database (e.g. ``sim_province``).

One row per accepted ``(kind, key, version)``; the primary key makes "stored at most once" a
property of the store, not of the code. A batch is applied in one transaction: either every
accepted record of it is stored, or none.

Batches are deduplicated on their ``batch_id`` (client-generated, unique per distinct batch): the
first time an id is seen its records are checked and stored, and the results kept with a digest
of the batch; a resend of the same batch is answered from those results (what was stored is
``DUPLICATE`` now, what was rejected is rejected again) without storing anything, and an id
reused for different records is refused as ``BAD_BATCH``. Every receipt is counted, so a test
can see which batch ids reached the platform and how often.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from simulators.province import checks, identifiers
from simulators.province.crypto import Sm2Verifier, canonical_json, reconciliation_digest, sm3

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = ("certificates", "cases")
DDL = """
CREATE TABLE IF NOT EXISTS accepted (
    kind         text NOT NULL CHECK (kind IN ('certificates', 'cases')),
    key          text NOT NULL,
    version      integer NOT NULL,
    series       text NOT NULL,
    status       text NOT NULL,
    content_hash text NOT NULL,
    payload      jsonb NOT NULL,
    batch_id     text NOT NULL,
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    accepted_on  date NOT NULL,
    PRIMARY KEY (kind, key, version)
);
CREATE INDEX IF NOT EXISTS accepted_series ON accepted (kind, series, version DESC);
CREATE INDEX IF NOT EXISTS accepted_day ON accepted (kind, accepted_on);
CREATE TABLE IF NOT EXISTS batch (
    batch_id          text PRIMARY KEY,
    kind              text NOT NULL,
    digest            text NOT NULL,
    results           jsonb NOT NULL,
    received          integer NOT NULL DEFAULT 1,
    first_received_at timestamptz NOT NULL DEFAULT now(),
    last_received_at  timestamptz NOT NULL DEFAULT now()
);
"""


class BatchIdReusedError(ValueError):
    """A ``batch_id`` already used for a different batch (answered ``400 BAD_BATCH``; nothing stored)."""


@dataclass
class _Head:
    version: int
    status: str


def content_hash(record: dict[str, Any]) -> str:
    """SM3 of the canonical JSON of a record without its signature (what "same content" means)."""
    return sm3(canonical_json({k: v for k, v in record.items() if k != "signature"}))


def signed_message(record: dict[str, Any]) -> bytes:
    """The bytes a certificate's signature covers: canonical JSON of every other field."""
    return canonical_json({k: v for k, v in record.items() if k != "signature"})


class PlatformStore:
    """The platform's store, shared by the server's worker threads (one connection, one lock)."""

    def __init__(self, uri: str, verifier: Sm2Verifier | None) -> None:
        self._conn = psycopg.connect(uri)
        self._lock = threading.Lock()
        self._verifier = verifier
        with self._lock, self._conn.transaction():
            self._conn.execute(DDL)

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def apply_batch(
        self, kind: str, batch_id: str, records: list[dict[str, Any]], now: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """Check and store one batch; return one result per record, in order.

        Args:
            kind: ``certificates`` or ``cases``.
            batch_id: The client's batch id.
            records: The batch's records.
            now: The platform's clock (default: the real one); its day in Asia/Shanghai is the day
                accepted records are counted on.

        Raises:
            BatchIdReusedError: if ``batch_id`` was used before for other records.
        """
        now = now or dt.datetime.now(dt.UTC)
        # Each record's canonical JSON without its signature is made once: it is what a signature
        # covers, its SM3 is the content hash, and with the signatures it makes the batch's digest.
        unsigned = [signed_message(r) for r in records]
        hashes = [sm3(u) for u in unsigned]
        digest = _batch_digest(kind, records, hashes)
        with self._lock, self._conn.transaction():
            seen = self._seen_batch(batch_id, kind, digest)
        if seen is not None:
            return seen
        key_field = "certificate_id" if kind == "certificates" else "case_no"
        problems = [(checks.certificate_fields if kind == "certificates" else checks.case_fields)(r) for r in records]
        self._check_ids(kind, records, problems)
        signed = self._signatures(kind, records, unsigned, problems)
        with self._lock, self._conn.transaction():
            seen = self._seen_batch(batch_id, kind, digest)  # the same batch may have arrived meanwhile
            if seen is not None:
                return seen
            keys = [str(r.get(key_field)) for r in records]
            series = [_series(kind, r) for r in records]
            stored = {
                (k, v): h
                for k, v, h in self._conn.execute(
                    "SELECT key, version, content_hash FROM accepted WHERE kind = %s AND key = ANY(%s)", (kind, keys)
                )
            }
            heads = {
                s: _Head(v, st)
                for s, v, st in self._conn.execute(
                    "SELECT DISTINCT ON (series) series, version, status FROM accepted "
                    "WHERE kind = %s AND series = ANY(%s) ORDER BY series, version DESC",
                    (kind, [s for s in series if s]),
                )
            }
            today = now.astimezone(SHANGHAI).date()
            results, rows = [], []
            for rec, text, h, key, ser, problem, signed_ok in zip(
                records, unsigned, hashes, keys, series, problems, signed, strict=True
            ):
                version = rec.get("version")
                code, message = self._verdict(kind, rec, h, key, ser, problem, signed_ok, stored, heads)
                status = "REJECTED" if code else "ACCEPTED"
                if code == "DUPLICATE":
                    status, code = "DUPLICATE", None
                if status == "ACCEPTED":
                    stored[(key, version)] = h
                    heads[ser] = _Head(version, rec["status"])
                    payload = _with_signature(text, rec)
                    rows.append((kind, key, version, ser, rec["status"], h, payload, batch_id, now, today))
                results.append({"key": key, "version": version, "status": status, "code": code, "message": message})
            if rows:  # one COPY for the batch, not a round trip a record
                with (
                    self._conn.cursor() as cur,
                    cur.copy(
                        "COPY accepted (kind, key, version, series, status, content_hash, payload, batch_id,"
                        " accepted_at, accepted_on) FROM STDIN"
                    ) as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            self._conn.execute(
                "INSERT INTO batch (batch_id, kind, digest, results) VALUES (%s, %s, %s, %s)",
                (batch_id, kind, digest, Jsonb(results)),
            )
        return results

    def _seen_batch(self, batch_id: str, kind: str, digest: str) -> list[dict[str, Any]] | None:
        """The answer to a resend of a known batch (counted), ``None`` for a new batch id.

        Raises:
            BatchIdReusedError: if the id is known with other records.
        """
        row = self._conn.execute(
            "UPDATE batch SET received = received + 1, last_received_at = now() WHERE batch_id = %s "
            "RETURNING kind, digest, results",
            (batch_id,),
        ).fetchone()
        if row is None:
            return None
        if (row[0], row[1]) != (kind, digest):
            raise BatchIdReusedError(f"batch_id {batch_id} was used before for a different batch")
        return [
            r | {"status": "DUPLICATE", "code": None, "message": None} if r["status"] != "REJECTED" else r
            for r in row[2]
        ]

    def _check_ids(self, kind: str, records: list[dict[str, Any]], problems: list[checks.Problem]) -> None:
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, str]] = []
        for i, (rec, problem) in enumerate(zip(records, problems, strict=True)):
            if problem is not None:
                continue
            if kind == "certificates":
                wanted = [
                    ("org", rec["issuer_code"], "issuer_code"),
                    ("person" if rec["holder_id_type"] == "111" else "org", rec["holder_id"], "holder_id"),
                ]
            else:
                wanted = [
                    ("person" if rec["applicant_type"] == "PERSON" else "org", rec["applicant_id"], "applicant_id"),
                    ("org", rec["dept_code"], "dept_code"),
                ]
            for id_kind, value, field in wanted:
                pairs.append((id_kind, value))
                owners.append((i, field))
        for (i, field), ok in zip(owners, checks.id_checks(pairs), strict=True):
            if not ok and problems[i] is None:
                problems[i] = ("BAD_CHECKSUM", f"{field} fails its check character")

    def _signatures(
        self, kind: str, records: list[dict[str, Any]], unsigned: list[bytes], problems: list[checks.Problem]
    ) -> list[bool]:
        """Whether each certificate's signature verifies (False for cases and for records with a problem).

        Done before the store's lock, on every core, so a batch's verifications do not queue behind it.
        """
        if kind != "certificates" or self._verifier is None:
            return [False] * len(records)
        todo = [i for i, problem in enumerate(problems) if problem is None]
        pairs = [(unsigned[i], records[i]["signature"]) for i in todo]
        ok = [False] * len(records)
        for i, verified in zip(todo, self._verifier.verify_many(pairs), strict=True):
            ok[i] = verified
        return ok

    def _verdict(
        self,
        kind: str,
        rec: dict[str, Any],
        rec_hash: str,
        key: str,
        ser: str | None,
        problem: checks.Problem,
        signed_ok: bool,
        stored: dict[tuple[str, Any], str],
        heads: dict[str, _Head],
    ) -> tuple[str | None, str | None]:
        version = rec.get("version")
        if (key, version) in stored and problem is None:
            if stored[(key, version)] == rec_hash:
                return "DUPLICATE", None
            return "VERSION_CONFLICT", f"{key} version {version} was stored with different content"
        if problem is not None:
            return problem
        head = heads.get(ser or "")
        if head is not None and head.version > version:
            return "STALE_VERSION", f"version {head.version} is already stored"
        if kind == "cases" and head is not None:
            before, after = checks.CASE_RANK[head.status], checks.CASE_RANK[rec["status"]]
            if after < before or (before == 3 and rec["status"] != head.status):
                return "ILLEGAL_TRANSITION", f"status cannot move from {head.status} to {rec['status']}"
        if kind == "certificates":
            if not signed_ok:
                return "BAD_SIGNATURE", "signature does not verify with the issuer's key"
        return None, None

    def reconciliation(self, kind: str, day: dt.date) -> dict[str, Any]:
        """Count and SM3 digest of the sorted ``key:version`` lines accepted on ``day`` (Asia/Shanghai)."""
        with self._lock, self._conn.transaction():
            rows = self._conn.execute(
                "SELECT key, version FROM accepted WHERE kind = %s AND accepted_on = %s", (kind, day)
            ).fetchall()
        return {"accepted": len(rows), "digest": reconciliation_digest(f"{k}:{v}" for k, v in rows)}

    def holdings(self, kind: str) -> list[tuple[str, int]]:
        """Every stored ``(key, version)`` of ``kind`` (admin view for tests)."""
        with self._lock, self._conn.transaction():
            return [tuple(r) for r in self._conn.execute("SELECT key, version FROM accepted WHERE kind = %s", (kind,))]

    def batches(self) -> list[dict[str, Any]]:
        """Every batch id received, its kind, record count and how many times it arrived (admin view)."""
        with self._lock, self._conn.transaction():
            return [
                {"batch_id": b, "kind": k, "records": n, "received": r}
                for b, k, n, r in self._conn.execute(
                    "SELECT batch_id, kind, jsonb_array_length(results), received FROM batch ORDER BY first_received_at"
                )
            ]

    def forget(self, kind: str, key: str, version: int) -> int:
        """Delete one stored record (admin: simulates a record lost by the platform)."""
        with self._lock, self._conn.transaction():
            return self._conn.execute(
                "DELETE FROM accepted WHERE kind = %s AND key = %s AND version = %s", (kind, key, version)
            ).rowcount


def _with_signature(unsigned: bytes, rec: dict[str, Any]) -> str:
    """The record's JSON text: its canonical JSON without the signature, with the signature put back."""
    text = unsigned.decode("utf-8")
    if "signature" not in rec:
        return text
    return text[:-1] + ("," if len(text) > 2 else "") + f'"signature":{json.dumps(rec["signature"])}}}'


def _batch_digest(kind: str, records: list[dict[str, Any]], hashes: list[str]) -> str:
    """SM3 over the kind and each record's content hash and signature: equal for a resend of the same records."""
    lines = [
        h + ("\t" + json.dumps(r["signature"]) if "signature" in r else "")
        for r, h in zip(records, hashes, strict=True)
    ]
    return sm3((kind + "\n" + "\n".join(lines)).encode("utf-8"))


def _series(kind: str, rec: dict[str, Any]) -> str | None:
    if kind == "cases":
        return rec.get("case_no") if isinstance(rec.get("case_no"), str) else None
    cid = rec.get("certificate_id")
    parsed = identifiers.certificate_id(cid) if isinstance(cid, str) else None
    return parsed.series if parsed else None
