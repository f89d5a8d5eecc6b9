"""Signed checkpoints of the audit chain's head, kept outside the store.

The SM3 chain in ``access.audit`` detects an edited entry, but whoever can write the table
(a superuser, with ``session_replication_role = replica`` to silence the triggers) can also
recompute every hash after an edit, cut the tail and fix the head row, or empty the table. A
checkpoint pins the head: ``(store, seq, hash, at)`` with an HMAC-SM3 under a key that is not
in the database (the Airflow connection ``audit_checkpoint``, its password), appended as one
JSON line to ``$HUB_HOME/audit/checkpoints.jsonl`` (``HUB_AUDIT_CHECKPOINTS`` moves it),
opened ``O_APPEND`` with mode 0600. :func:`verify` then requires every signed head to still be
in the chain with the same hash, so a rewrite of anything up to the last checkpoint is
detected; entries after it are covered by the next one (the ``audit_checkpoint`` DAG writes
one every 5 minutes, ``hub audit checkpoint`` on demand).

Without the connection, an embedded store uses a random key kept in
``$HUB_HOME/airflow/secrets/audit_checkpoint_key`` (0600, the one ``hub up`` uses), created
once: on one machine the store's superuser is the same operating-system user, so this only
protects against rewrites through SQL; a deployment defines the connection on the Airflow
side, where the store cannot read it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg

from connectors.connections import get_connection
from hub.access.audit import _LOCK_KEY
from hub.settings import AUDIT_KEY_CONN_ID as KEY_CONN_ID
from hub.settings import hub_home
from hub.store.connection import uses_embedded

MIN_KEY_CHARS = 32


class CheckpointKeyError(LookupError):
    """No usable checkpoint key is configured."""


def checkpoint_file() -> Path:
    """Where checkpoints are appended (``$HUB_AUDIT_CHECKPOINTS``, else under ``$HUB_HOME/audit``)."""
    return Path(os.environ.get("HUB_AUDIT_CHECKPOINTS") or hub_home() / "audit" / "checkpoints.jsonl")


def checkpoint_key() -> bytes:
    """The MAC key: the ``audit_checkpoint`` connection's password, else (embedded store) a local key file.

    Raises:
        CheckpointKeyError: the connection is missing for an external store, or its key is too short.
    """
    conn = get_connection(KEY_CONN_ID)
    if conn is not None:
        key = conn.password or ""
        if len(key) < MIN_KEY_CHARS:
            raise CheckpointKeyError(
                f"the password of connection {KEY_CONN_ID!r} is the audit checkpoint key and must have at least "
                f"{MIN_KEY_CHARS} characters (it has {len(key)})"
            )
        return key.encode()
    if not uses_embedded():
        raise CheckpointKeyError(
            f"define the Airflow connection {KEY_CONN_ID!r} (AIRFLOW_CONN_{KEY_CONN_ID.upper()}; password = a "
            "random secret of at least 32 characters) to sign audit checkpoints"
        )
    # the file `hub up` also puts in its connection, so the stack and a shell sign with one key
    path = hub_home() / "airflow" / "secrets" / "audit_checkpoint_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def store_id(conn: psycopg.Connection) -> str:
    """The store a checkpoint belongs to: the server's system identifier and the database name.

    Neither can be changed through SQL, so a superuser cannot make the chain look like another store's.
    """
    sysid, db = conn.execute("SELECT (pg_control_system()).system_identifier, current_database()").fetchone()
    return f"{sysid}/{db}"


@dataclass(frozen=True)
class Checkpoint:
    """One signed head of the chain (``line`` is its 1-based line in the file)."""

    store: str
    seq: int
    hash: str
    at: str
    mac: str
    line: int = 0

    def message(self) -> bytes:
        """What the MAC covers."""
        return json.dumps([self.store, self.seq, self.hash, self.at], separators=(",", ":")).encode()


def _mac(key: bytes, cp: Checkpoint) -> str:
    return hmac.new(key, cp.message(), "sm3").hexdigest()


def write(conn: psycopg.Connection, key: bytes | None = None, path: Path | None = None) -> Checkpoint | None:
    """Sign the current head and append it to the checkpoint file. ``None`` when the chain is empty.

    The head is read under the chain's append lock, so it is a head that existed.
    """
    key = checkpoint_key() if key is None else key
    path = checkpoint_file() if path is None else path
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        head = conn.execute("SELECT seq, hash FROM access.audit_head WHERE id = 1").fetchone()
    if head is None:
        return None
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    unsigned = Checkpoint(store_id(conn), int(head[0]), head[1], at, "")
    cp = Checkpoint(unsigned.store, unsigned.seq, unsigned.hash, at, _mac(key, unsigned))
    line = json.dumps({"store": cp.store, "seq": cp.seq, "hash": cp.hash, "at": cp.at, "mac": cp.mac}) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp


def read(path: Path, store: str) -> tuple[list[Checkpoint], list[str]]:
    """This store's checkpoints in file order, and problems with lines that cannot be parsed."""
    found: list[Checkpoint] = []
    problems: list[str] = []
    if not path.exists():
        return found, problems
    with path.open(encoding="utf-8") as fh:
        for n, text in enumerate(fh, start=1):
            try:
                d = json.loads(text)
                cp = Checkpoint(str(d["store"]), int(d["seq"]), str(d["hash"]), str(d["at"]), str(d["mac"]), n)
            except (ValueError, KeyError, TypeError):
                problems.append(f"checkpoint file {path} line {n}: not a checkpoint (file edited)")
                continue
            if cp.store == store:
                found.append(cp)
    return found, problems


def verify(conn: psycopg.Connection, key: bytes | None = None, path: Path | None = None) -> tuple[int, list[str]]:
    """Check that every checkpoint of this store is genuine and still matches the chain.

    Returns:
        The number of this store's checkpoints and the problems found, first bad checkpoint first.

    Raises:
        CheckpointKeyError: there are checkpoints for this store but no key to check them with.
    """
    path = checkpoint_file() if path is None else path
    cps, problems = read(path, store_id(conn))
    if not cps:  # nothing signed for this store yet (a new or restored store): no key needed
        return 0, problems
    key = checkpoint_key() if key is None else key
    last = conn.execute("SELECT coalesce(max(seq), 0) FROM access.audit").fetchone()[0]
    good_seq, good_at = 0, ""
    for cp in cps:
        where = f"checkpoint at line {cp.line} (entry {cp.seq}, signed {cp.at})"
        if not hmac.compare_digest(_mac(key, cp), cp.mac):
            problems.append(f"{where}: signature does not match (checkpoint file edited, or another key)")
            continue
        if cp.seq < good_seq or cp.at < good_at:
            problems.append(f"{where}: goes back from entry {good_seq} signed {good_at} (checkpoint file reordered)")
        row = conn.execute("SELECT hash FROM access.audit WHERE seq = %s", (cp.seq,)).fetchone()
        if row is None and cp.seq > last:
            problems.append(
                f"{where}: the log ends at entry {last} (entries {last + 1}..{cp.seq} deleted: tail cut or truncated)"
            )
        elif row is None:
            problems.append(f"{where}: entry {cp.seq} is missing from the log (entries deleted)")
        elif row[0] != cp.hash:
            since = f"entry {good_seq} still matches the previous checkpoint" if good_seq else "no checkpoint before"
            problems.append(
                f"{where}: entry {cp.seq}'s hash differs from the signed one: entries {good_seq + 1}..{cp.seq} "
                f"were rewritten and re-chained ({since})"
            )
        else:
            good_seq, good_at = cp.seq, cp.at
    return len(cps), problems
