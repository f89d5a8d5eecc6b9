"""What a deployment must provide for the DAGs: every Airflow pool and every connection, declared once.

``hub up``, the compose init, ``.env.example`` and the tests all read these declarations, so a
task naming a pool the stack does not create, or code naming a connection nobody defines, is
caught by a test instead of by a scheduler that silently never runs the task. The module is
cheap to import: DAG files read the pool names at parse time.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub import registry
from hub.push.provincial_client import PLATFORM_CONN_ID
from hub.push.signer import SIGNER_CONN_ID
from hub.settings import API_STORE_CONN_ID, AUDIT_DIGEST_CONN_ID, AUDIT_KEY_CONN_ID, STORE_CONN_ID


@dataclass(frozen=True)
class PoolSpec:
    """An Airflow pool the DAGs' tasks run in.

    Attributes:
        name: Pool name, as tasks give it in ``pool=``.
        slots: Concurrent task slots.
        description: Why the pool exists (shown in the Airflow UI).
    """

    name: str
    slots: int
    description: str


@dataclass(frozen=True)
class ConnectionSpec:
    """An Airflow connection the hub reads.

    Attributes:
        conn_id: Connection id (``AIRFLOW_CONN_<CONN_ID>`` in the environment).
        purpose: What it reaches, for ``.env.example`` and the README.
    """

    conn_id: str
    purpose: str

    @property
    def env_var(self) -> str:
        """The environment variable that defines it."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


# One slot: every task that talks to the platform runs alone, so the client's token bucket
# (20 requests a second) is the whole city's rate.
PROVINCIAL_POOL = PoolSpec("provincial_platform", 1, "Provincial platform (quota 20 requests/s): one client at a time")

POOLS: tuple[PoolSpec, ...] = (PROVINCIAL_POOL,)


def connections() -> tuple[ConnectionSpec, ...]:
    """Every connection the hub reads: store, API login, audit key, each source's, platform, signer.

    Read from the registry when called, so a source registered later (a test's toy source) is
    included; :data:`CONNECTIONS` is the same list as declared in the code.
    """
    return (
        ConnectionSpec(STORE_CONN_ID, "the shared store (PostgreSQL): standard tables, ledger, outbox, audit"),
        ConnectionSpec(API_STORE_CONN_ID, "the data API's least-privilege login to the store (role <database>__api)"),
        ConnectionSpec(AUDIT_KEY_CONN_ID, "the key audit checkpoints are signed with (password, >= 32 characters)"),
        ConnectionSpec(AUDIT_DIGEST_CONN_ID, "the key of the audit's digests of looked-up values (password, 64 hex)"),
        *(ConnectionSpec(spec.conn_id, f"source {spec.name}: {spec.title}") for spec in registry.SOURCES),
        ConnectionSpec(PLATFORM_CONN_ID, "the provincial platform (http: login = app id, password = app secret)"),
        ConnectionSpec(
            SIGNER_CONN_ID, "the issuer's SM2 key (password = private key hex, extra public_key and scheme = sm2)"
        ),
    )


CONNECTIONS: tuple[ConnectionSpec, ...] = connections()


def pool_names() -> set[str]:
    """The names of every declared pool."""
    return {pool.name for pool in POOLS}


def connection_ids() -> set[str]:
    """The ids of every declared connection."""
    return {conn.conn_id for conn in connections()}


def pools_import_json() -> str:
    """The declared pools as the JSON ``airflow pools import FILE`` takes (``hub up``, compose init)."""
    import json

    return json.dumps(
        {p.name: {"slots": p.slots, "description": p.description, "include_deferred": False} for p in POOLS}, indent=2
    )


def create_pools() -> None:
    """Create or update every declared pool in the configured Airflow metadata database (in-process)."""
    from airflow.models.pool import Pool

    for pool in POOLS:
        Pool.create_or_update_pool(pool.name, pool.slots, pool.description, include_deferred=False)
