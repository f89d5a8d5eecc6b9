"""The secret paging order of keys a department sees masked (issue 14).

Paging a resource by its key tells the reader where each row sits in the key's order; for an
identity number that is the birth date, however well the number itself is masked. Where a key
column is masked for the reader, the API pages by ``hub.page_digest(key)`` instead: HMAC-SHA256
under a secret kept in ``hub.page_order_key`` (migration 0870), readable by the store's owner
only and executable by the API's role, never by a department's SQL role. An expression index on
that digest, generated here from each table's declared key, keeps paging an index scan.
"""

from __future__ import annotations

import secrets

import psycopg

from schemas.model import DataType, PersonalClass, Table

_KEY_BYTES = 64  # one SHA-256 block: the HMAC key is used as is (RFC 2104)
_SEPARATOR = "chr(31)"  # unit separator between the parts of a composite key


def ensure_key(conn: psycopg.Connection) -> bool:
    """Create the paging-order secret if the store has none. Returns whether it was created.

    The secret is never replaced here: the digest indexes were built with it.
    """
    key = secrets.token_bytes(_KEY_BYTES)
    inner = bytes(b ^ 0x36 for b in key)
    outer = bytes(b ^ 0x5C for b in key)
    cur = conn.execute(
        "INSERT INTO hub.page_order_key (inner_pad, outer_pad) VALUES (%s, %s) ON CONFLICT (one) DO NOTHING",
        (inner, outer),
    )
    return cur.rowcount == 1


def has_personal_key(table: Table) -> bool:
    """Whether some key column of ``table`` is personal, so some reader may see the key masked."""
    return any(table.field(k).personal is not PersonalClass.NONE for k in table.key)


def _part(table: Table, name: str) -> str:
    # each cast must be IMMUTABLE (an index expression): text and bigint are; a date is turned into
    # its day number, because date::text depends on DateStyle
    data_type = table.field(name).type
    if data_type is DataType.TEXT:
        return name
    if data_type in (DataType.INTEGER, DataType.DECIMAL):
        return f"{name}::text"
    if data_type is DataType.DATE:
        return f"({name} - DATE '2000-01-01')::text"
    raise ValueError(f"{table.qualified_name}.{name}: a {data_type} key column cannot be digested for paging")


def digest_expr(table: Table) -> str:
    """The SQL expression of the row's paging digest; the same text the index is built on."""
    return f"hub.page_digest({f' || {_SEPARATOR} || '.join(_part(table, k) for k in table.key)})"


def digest_index_sql(table: Table) -> list[str]:
    """``CREATE INDEX`` for the paging digest of ``table``, when its key holds a personal column."""
    if not has_personal_key(table):
        return []
    return [f"CREATE INDEX IF NOT EXISTS {table.name}_page_digest_idx ON {table.qualified_name} ({digest_expr(table)})"]
