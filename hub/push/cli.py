"""The ``hub push`` command: the outbox to the provincial platform."""

from __future__ import annotations

import argparse
import json

from hub.cli_args import add_actions, add_json
from hub.cli_output import echo
from hub.store.connection import store_uri


def _push(args: argparse.Namespace) -> int:
    from hub.push.outbox import outbox_counts, retry_parked  # at call time: psycopg, +0.26 s CPU on every `hub` start

    if args.action == "retry":
        signer = None
        if args.resign:
            from hub.push.signer import signer_from_connection  # only with --resign

            signer = signer_from_connection()
        n = retry_parked(store_uri(), kind=args.kind, code=args.code, resign=signer)
        echo(f"re-queued {n} parked record(s); the next push_provincial run sends them")
        return 0
    counts = outbox_counts(store_uri())
    if args.json:
        echo(json.dumps(counts, indent=2))
        return 0
    statuses = ("pending", "delivered", "parked")
    echo(f"{'kind':<14}" + "".join(f"{s:>11}" for s in statuses))
    for kind, by_status in counts.items():
        echo(f"{kind:<14}" + "".join(f"{by_status.get(s, 0):>11,}" for s in statuses))
    parked = sum(c.get("parked", 0) for c in counts.values())
    if parked:
        echo(f"{parked:,} parked: fix the cause, then `hub push retry`")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hub push`` and its actions to the ``hub`` parser's subcommands."""
    push = sub.add_parser("push", help="the outbox to the provincial platform")
    push.set_defaults(func=_push)
    acts = add_actions(push, "what to do with the outbox")
    retry = acts.add_parser("retry", help="re-queue parked (REJECTED) records once their cause is fixed")
    retry.add_argument("--kind", choices=["certificates", "cases"], help="only this kind of record")
    retry.add_argument("--code", help="only records parked with this code, e.g. BAD_SIGNATURE")
    retry.add_argument("--resign", action="store_true", help="sign certificates again with certificate_signer")
    add_json(acts.add_parser("status", help="records per kind: pending, delivered, parked"), "the counts")
