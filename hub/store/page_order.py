"""The secret paging order of keys a department sees masked (issue 14).

Paging a resource by its key tells the reader where each row sits in the key's order; for an
identity number that is the birth date, however well the number itself is masked. Where a key
column is masked for the reader, the API pages by ``hub.page_digest(key)`` instead: HMAC-SHA256
under a secret kept in ``hub.page_order_key`` (migration 0870), readable by the store's owner
only; no role but the owner (who writes the shared tables) may execute the function. Each declared
table whose key holds a personal column gets the digest as a stored generated column, generated
here from the declared key, and an index on it: paging is an index scan that computes nothing.
"""

from __future__ import annotations

import secrets

import psycopg

from schemas.model import DataType, PersonalClass, Table

_KEY_BYTES = 64  # one SHA-256 block: the HMAC key is used as is (RFC 2104)
_SEPARATOR = "chr(31)"  # unit separator between the parts of a composite key


def ensure_key(conn: psycopg.Connection) -> bool:
    """Create the paging-order secret if the store has none. Returns whether it was created.

    The secret is never replaced here: the stored digests were computed with it.
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
    # each cast must be IMMUTABLE (a generated column): text and bigint are; a date is turned into
    # its day number, because date::text depends on DateStyle
    data_type = table.field(name).type
    if data_type is DataType.TEXT:
        return name
    if data_type in (DataType.INTEGER, DataType.DECIMAL):
        return f"{name}::text"
    if data_type is DataType.DATE:
        return f"({name} - DATE '2000-01-01')::text"
    raise ValueError(f"{table.qualified_name}.{name}: a {data_type} key column cannot be digested for paging")


DIGEST_COLUMN = "_page_digest"


def digest_expr(table: Table) -> str:
    """The SQL expression of a row's paging digest (what :data:`DIGEST_COLUMN` stores)."""
    return f"hub.page_digest({f' || {_SEPARATOR} || '.join(_part(table, k) for k in table.key)})"


def digest_column_sql(table: Table) -> list[str]:
    """The stored digest column and its index, when the key of ``table`` holds a personal column.

    A stored generated column rather than an expression index: the digest is computed once per
    written row, where an expression index would still compute it for every row a page returns
    (about 13 µs a call, most of a 500-row page's cost). The column is not declared, so neither
    the API nor the departments' views select it; it shows nothing without the secret anyway. It is
    NOT NULL: without the secret (e.g. a restore that loads the shared tables first) a write fails
    instead of storing a row that masked paging would never reach.
    """
    if not has_personal_key(table):
        return []
    q = table.qualified_name
    return [
        f"ALTER TABLE {q} ADD COLUMN IF NOT EXISTS {DIGEST_COLUMN} bytea NOT NULL "
        f"GENERATED ALWAYS AS ({digest_expr(table)}) STORED",
        f"CREATE INDEX IF NOT EXISTS {table.name}_page_digest_idx ON {q} ({DIGEST_COLUMN})",
    ]
