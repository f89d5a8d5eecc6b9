"""Derive certificate versions from the shared tables, each with its outbox row in the same transaction.

A 营业执照 for every market entity (issue date = 核准日期, issuer = 登记机关) and a 社会保障卡 for
every issued card. Only source records whose certificate-relevant columns changed are read
again; a new version is created only when the certificate's content (face or status) changed.
SM2 signing (OpenSSL, a chunk at a time on every core, while the chunk before it is written) is
done once per new version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from hub import faults
from hub.push import identifier
from hub.push.gm import canonical_json, sm3_hex
from hub.push.signer import Signer
from hub.store.connection import connect
from schemas.codes import ENTITY_TYPE

CHUNK = 1000  # certificates a transaction; each chunk is signed on every core at once
DERIVE_LOCK = 640100_0300


@dataclass(frozen=True)
class CertificateType:
    """A certificate type: its 21-character type code (definer's USCC + 3 digits) and name."""

    code: str
    name: str
    source_table: str


# Type-defining bodies' USCCs are synthetic but checksum-valid (the province publishes the real ones).
BUSINESS_LICENCE = CertificateType("11100000MB0143028R001", "营业执照", "shared.market_entity")
SOCIAL_SECURITY_CARD = CertificateType("11100000MB0268015M002", "社会保障卡", "shared.social_insurance")
CARD_ISSUER = ("银川市人力资源和社会保障局", "11640100MB1720A11K")
CARD_VALID_YEARS = 10
_SERIAL = re.compile(r"^[0-9A-Z]{1,32}$")
_STATUS = {"ACTIVE": "VALID", "MOVED_OUT": "VALID", "REVOKED": "REVOKED", "CANCELLED": "CANCELLED"}


@dataclass
class Draft:
    """What a certificate should say now, before versioning and signing."""

    type: CertificateType
    source_key: str
    source_hash: str
    issuer_code: str
    serial: str
    content: dict[str, Any]  # every API field except certificate_id, version and signature


def serial_for(source_key: str) -> str:
    """A serial stable per certificate: the source key when it is a valid serial, else an SM3 prefix."""
    key = source_key.strip().upper()
    return key if _SERIAL.match(key) else sm3_hex(source_key.encode("utf-8"))[:24].upper()


def _licence_drafts(conn: psycopg.Connection) -> Iterator[Draft]:
    t = BUSINESS_LICENCE
    rows = conn.execute(
        """
        WITH src AS (
            SELECT m.*, md5(concat_ws('|', m.name, m.entity_type, m.legal_rep, m.registered_capital::text,
                   m.established_on, m.approved_on, m.authority_name, m.authority_code, m.status, m.address,
                   m.business_scope)) AS source_hash
            FROM shared.market_entity m
        )
        SELECT src.uscc, src.name, src.entity_type, src.legal_rep, src.registered_capital, src.established_on,
               src.approved_on, src.authority_name, src.authority_code, src.status, src.address,
               src.business_scope, src.source_hash
        FROM src LEFT JOIN hub.certificate_source s ON s.type_code = %s AND s.source_key = src.uscc
        WHERE s.source_hash IS DISTINCT FROM src.source_hash
        ORDER BY src.uscc
        """,
        (t.code,),
    )
    for uscc, name, etype, rep, capital, established, approved, auth_name, auth_code, status, address, scope, h in rows:
        face = {
            "名称": name,
            "统一社会信用代码": uscc,
            "类型": ENTITY_TYPE.codes.get(etype, etype),
            "法定代表人": rep,
            "注册资本": None if capital is None else f"{capital}万元",
            "成立日期": established.isoformat(),
            "住所": address,
            "经营范围": scope,
            "登记机关": auth_name,
            "核准日期": approved.isoformat(),
        }
        content = {
            "type_code": t.code,
            "type_name": t.name,
            "number": uscc,
            "holder_name": name,
            "holder_id": uscc,
            "holder_id_type": "001",
            "issuer_name": auth_name,
            "issuer_code": auth_code,
            "issue_date": approved.isoformat(),
            "valid_from": approved.isoformat(),
            "valid_to": None,
            "status": _STATUS.get(status, "VALID"),
            "face": face,
        }
        yield Draft(t, uscc, h, auth_code, serial_for(uscc), content)


def _card_drafts(conn: psycopg.Connection) -> Iterator[Draft]:
    t = SOCIAL_SECURITY_CARD
    issuer_name, issuer_code = CARD_ISSUER
    rows = conn.execute(
        """
        WITH card AS (
            SELECT DISTINCT ON (person_no) person_no, id_number, name, card_no, card_issued_on
            FROM shared.social_insurance
            WHERE card_no IS NOT NULL AND card_issued_on IS NOT NULL
            ORDER BY person_no, card_issued_on DESC, card_no
        ), src AS (
            SELECT card.*, md5(concat_ws('|', id_number, name, card_no, card_issued_on)) AS source_hash FROM card
        )
        SELECT src.person_no, src.id_number, src.name, src.card_no, src.card_issued_on, src.source_hash
        FROM src LEFT JOIN hub.certificate_source s ON s.type_code = %s AND s.source_key = src.person_no
        WHERE s.source_hash IS DISTINCT FROM src.source_hash
        ORDER BY src.person_no
        """,
        (t.code,),
    )
    for person_no, id_number, name, card_no, issued, h in rows:
        valid_to = _add_years(issued, CARD_VALID_YEARS) - dt.timedelta(days=1)
        face = {
            "姓名": name,
            "社会保障号码": id_number,
            "社会保障卡号": card_no,
            "发卡日期": issued.isoformat(),
            "发卡机构": issuer_name,
            "有效期至": valid_to.isoformat(),
        }
        content = {
            "type_code": t.code,
            "type_name": t.name,
            "number": card_no,
            "holder_name": name,
            "holder_id": id_number,
            "holder_id_type": "111",
            "issuer_name": issuer_name,
            "issuer_code": issuer_code,
            "issue_date": issued.isoformat(),
            "valid_from": issued.isoformat(),
            "valid_to": valid_to.isoformat(),
            "status": "VALID",
            "face": face,
        }
        yield Draft(t, person_no, h, issuer_code, serial_for(person_no), content)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


SOURCES: tuple[Callable[[psycopg.Connection], Iterator[Draft]], ...] = (_licence_drafts, _card_drafts)


def derive_certificates(uri: str, signer: Signer, run_id: str) -> dict[str, int]:
    """Create the certificate versions the shared tables call for, with their outbox rows.

    Each chunk of certificates commits together with its outbox rows and the derive state, so
    a crash leaves no certificate version without its outbox row (and no row twice). The chunks
    are a pipeline: while one chunk is signed (on every core), the one before it is written.

    Returns:
        Counts: ``checked`` source records, ``new`` certificates, ``versions`` new versions of
        existing ones, ``unchanged``.
    """
    counts = {"checked": 0, "new": 0, "versions": 0, "unchanged": 0}
    with connect(uri) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DERIVE_LOCK,))
        conn.commit()
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="derive-sign") as signing:
                for source in SOURCES:
                    with conn.transaction():
                        drafts = list(source(conn))
                    signed: _Chunk | None = None
                    for start in range(0, len(drafts), CHUNK):
                        # The derive lock keeps every other derive out, and no two chunks share a
                        # source record, so this chunk's state can be read before the last one commits.
                        with conn.transaction():
                            chunk = _prepare(conn, drafts[start : start + CHUNK], counts)
                        chunk.signatures = signing.submit(signer.sign_many, chunk.messages)
                        if signed is not None:
                            with conn.transaction():
                                _write(conn, signed, signer.scheme, run_id)
                        signed = chunk
                    if signed is not None:
                        with conn.transaction():
                            _write(conn, signed, signer.scheme, run_id)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (DERIVE_LOCK,))
            conn.commit()
    return counts


@dataclass
class _Chunk:
    """One chunk's new versions (records without their signatures yet) and derive state rows."""

    records: list[tuple[dict[str, Any], str, Draft, str]]
    messages: list[bytes]
    sources: list[tuple[str, str, str, int, str, str]]
    signatures: Future[list[str]] | None = None


def _prepare(conn: psycopg.Connection, drafts: list[Draft], counts: dict[str, int]) -> _Chunk:
    state = {
        (t, k): (series, v, h)
        for t, k, series, v, h in conn.execute(
            "SELECT type_code, source_key, series, latest_version, content_hash FROM hub.certificate_source "
            "WHERE (type_code, source_key) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([d.type.code for d in drafts], [d.source_key for d in drafts]),
        )
    }
    chunk = _Chunk([], [], [])
    for d in drafts:
        counts["checked"] += 1
        content_hash = sm3_hex(canonical_json(d.content))
        known = state.get((d.type.code, d.source_key))
        if known is not None and known[2] == content_hash:
            counts["unchanged"] += 1
            chunk.sources.append((d.type.code, d.source_key, known[0], known[1], content_hash, d.source_hash))
            continue
        if known is None:
            series = identifier.CertificateId(d.type.code, d.issuer_code, d.serial, 1).series
            version = 1
            counts["new"] += 1
        else:
            series, version = known[0], known[1] + 1
            counts["versions"] += 1
        type_code, issuer_code, serial = series.removeprefix(identifier.ROOT + ".").split(".")
        try:
            cid = identifier.build(type_code, issuer_code, serial, version)
        except ValueError as exc:
            raise ValueError(f"{d.type.source_table} record {d.source_key}: {d.type.name} identifier: {exc}") from exc
        record = {"certificate_id": cid, "version": version, **d.content}
        chunk.records.append((record, series, d, content_hash))
        chunk.messages.append(canonical_json(record))
        chunk.sources.append((d.type.code, d.source_key, series, version, content_hash, d.source_hash))
    return chunk


def _write(conn: psycopg.Connection, chunk: _Chunk, scheme: str, run_id: str) -> None:
    signatures = chunk.signatures.result() if chunk.signatures is not None else []
    certs, outbox = [], []
    for (record, series, d, content_hash), message, signature in zip(
        chunk.records, chunk.messages, signatures, strict=True
    ):
        record["signature"] = signature
        certs.append(_certificate_row(record, series, scheme, d, run_id, content_hash))
        # the signed canonical JSON with the signature added: the same object, without encoding it again
        payload = message[:-1].decode("utf-8") + f',"signature":{json.dumps(signature)}}}'
        outbox.append(("certificates", record["certificate_id"], record["version"], payload))
    now = dt.datetime.now(dt.UTC)
    with conn.cursor() as cur:
        if certs:
            with cur.copy(
                "COPY shared.e_certificate (certificate_id, series, version, type_code, type_name, number, holder_name,"
                " holder_id, holder_id_type, issuer_name, issuer_code, issue_date, valid_from, valid_to, status, face,"
                " signature, signature_scheme, source_key, source_system, batch_id, record_hash, loaded_at) FROM STDIN"
            ) as copy:
                for row in certs:
                    copy.write_row((*row, now))
            faults.checkpoint("derive.between_certificate_and_outbox")
            with cur.copy("COPY hub.push_outbox (kind, record_key, version, payload) FROM STDIN") as copy:
                for row in outbox:
                    copy.write_row(row)
        sources = chunk.sources
        cur.execute(
            "INSERT INTO hub.certificate_source (type_code, source_key, series, latest_version, content_hash,"
            " source_hash) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::text[], %s::text[])"
            " ON CONFLICT (type_code, source_key) DO UPDATE SET latest_version = excluded.latest_version,"
            " content_hash = excluded.content_hash, source_hash = excluded.source_hash, updated_at = now()",
            [list(column) for column in zip(*sources, strict=True)] if sources else [[]] * 6,
        )


def _certificate_row(
    record: dict[str, Any], series: str, scheme: str, d: Draft, run_id: str, content_hash: str
) -> tuple[Any, ...]:
    return (
        record["certificate_id"],
        series,
        record["version"],
        record["type_code"],
        record["type_name"],
        record["number"],
        record["holder_name"],
        record["holder_id"],
        record["holder_id_type"],
        record["issuer_name"],
        record["issuer_code"],
        record["issue_date"],
        record["valid_from"],
        record["valid_to"],
        record["status"],
        json.dumps(record["face"], ensure_ascii=False, sort_keys=True),
        record["signature"],
        scheme,
        d.source_key,
        d.type.source_table,
        f"derive_certificates:{run_id}",
        content_hash,
    )
