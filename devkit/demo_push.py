"""The push part of ``python -m devkit demo``: derive, push and reconcile through the real DAGs against the simulator.

Call :func:`push_and_reconcile` after the ingest DAGs ran (the store connection and Airflow are
configured by the demo). It provisions the simulated provincial platform as a child process,
points ``provincial_platform`` and ``certificate_signer`` at it, runs ``derive_certificates``,
``push_provincial`` and ``reconcile_provincial`` with ``dag.test()``, and stops the simulator.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from hub.store.connection import connect

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _fill_if_empty(uri: str) -> dict[str, int]:
    """Direct rows for the shared tables the push reads, where their ingest has not filled them."""
    from simulators.province import shared_rows

    filled: dict[str, int] = {}
    with connect(uri) as conn:
        empty = {
            t: conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM shared.{t})").fetchone()[0]
            for t in ("market_entity", "social_insurance", "service_case")
        }
    if empty["market_entity"]:
        filled["market_entity"] = len(shared_rows.insert_entities(uri, 200))
    if empty["social_insurance"]:
        filled["social_insurance"] = len(shared_rows.insert_cards(uri, 200))
    if empty["service_case"]:
        filled["service_case"] = len(shared_rows.insert_cases(uri, 300, version=1))
        shared_rows.insert_cases(uri, 100, version=2)
    return filled


def summary(uri: str) -> dict[str, Any]:
    """``push`` per kind (sent, accepted, duplicate, rejected, pending) and the latest ``reconciliation``."""
    from hub.push.outbox import KINDS

    push: dict[str, dict[str, int]] = {
        k: dict.fromkeys(("sent", "accepted", "duplicate", "rejected"), 0) for k in KINDS
    }
    recon: dict[str, Any] = {}
    with connect(uri) as conn:
        for kind, sent, acc, dup, rej in conn.execute(
            "SELECT kind, sum(records), sum(accepted), sum(duplicate), sum(rejected) "
            "FROM hub.push_attempt GROUP BY kind"
        ):
            push[kind] |= {"sent": int(sent), "accepted": int(acc), "duplicate": int(dup), "rejected": int(rej)}
        for kind in KINDS:
            push[kind]["pending"] = conn.execute(
                "SELECT count(*) FROM hub.push_outbox WHERE kind = %s AND status = 'pending'", (kind,)
            ).fetchone()[0]
            row = conn.execute(
                "SELECT day, matched, platform_count, platform_digest, hub_count, hub_digest "
                "FROM hub.push_reconciliation WHERE kind = %s ORDER BY id DESC LIMIT 1",
                (kind,),
            ).fetchone()
            if row is None:
                recon[kind] = "not reconciled"
            elif row[1]:
                recon[kind] = "matched"
            else:
                recon[kind] = {
                    "day": row[0].isoformat(),
                    "platform": {"accepted": row[2], "digest": row[3]},
                    "hub": {"accepted": row[4], "digest": row[5]},
                }
    return {"push": push, "reconciliation": recon}


_STEPS = {
    "derive_certificates": "derive_certificates: SM2-signed e-certificates and case records for the province",
    "push_provincial": "push_provincial: the outbox to the provincial platform simulator",
    "reconcile_provincial": "reconcile_provincial: the daily 对账 with the platform",
}


def push_and_reconcile(fill_if_empty: bool = True, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Provision the simulator, run the push DAGs, and report.

    Args:
        fill_if_empty: Write direct rows into empty source tables first (so the demo shows a push
            before every source's ingest exists); what was written is reported as ``filled``.
        progress: Called with a line naming each DAG before it runs.

    Returns:
        ``{"push": {kind: {sent, accepted, duplicate, rejected, pending}}, "reconciliation":
        {kind: "matched" | differences}, "filled": {...}}``.
    """
    from devkit.dagrun import run_dag_once
    from hub.deployment import create_pools
    from hub.store import embedded
    from hub.store.connection import store_uri
    from simulators.province.provision import provision

    uri = store_uri()
    filled = _fill_if_empty(uri) if fill_if_empty else {}
    platform = provision(embedded.start())
    saved = {k: os.environ.get(k) for k in platform.env}
    os.environ.update(platform.env)
    try:
        create_pools()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        runs = {}
        for dag_id in ("derive_certificates", "push_provincial"):
            if progress is not None:
                progress(_STEPS[dag_id])
            runs[dag_id] = run_dag_once(dag_id, now)[1]
        # the daily run after today: it reconciles today
        tomorrow = dt.datetime.combine(
            dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1), dt.time(2, 30), tzinfo=SHANGHAI
        )
        if progress is not None:
            progress(_STEPS["reconcile_provincial"])
        runs["reconcile_provincial"] = run_dag_once("reconcile_provincial", tomorrow.astimezone(dt.UTC))[1]
    finally:
        platform.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {**summary(uri), "filled": filled, "runs": runs}
