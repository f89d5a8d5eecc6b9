"""The ``hub`` command line: store, simulators, demo and ledger."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence


def _store(args: argparse.Namespace) -> int:
    from hub.store import embedded

    if args.action == "start":
        uri = embedded.start()
        print(f"embedded store running: {uri}")
    elif args.action == "stop":
        print("stopped" if embedded.stop() else "not running")
    elif args.action == "status":
        st = embedded.status()
        print(
            json.dumps(st.__dict__, indent=2)
            if args.json
            else (f"running (pid {st.pid}, socket {st.socket_dir})" if st.running else f"stopped ({st.pgdata})")
        )
        return 0 if st.running else 3
    elif args.action == "url":
        from hub.store.connection import store_uri

        print(store_uri())
    elif args.action == "migrate":
        from hub.store.connection import store_uri
        from hub.store.migrate import migrate

        applied = migrate(store_uri())
        print("\n".join(applied) if applied else "store is current")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    if args.action in ("up", "down"):
        from hub.ops import simulate

        if args.action == "down":
            stopped = simulate.down()
            print("stopped: " + (", ".join(stopped) if stopped else "no simulator server was running"))
            return 0
        from hub.ops.progress import activity

        with activity(f"provisioning the five department simulators for {args.scale:,} persons"):
            env = simulate.up(args.scale, args.seed)
        print("simulators up; their connections (also in $HUB_HOME/run/simulators.env): " + ", ".join(sorted(env)))
        return 0
    from hub.store import embedded
    from simulators.ga import population

    admin = embedded.start()
    uri = embedded.ensure_database(admin, population.DATABASE)
    if args.action == "generate":
        from hub.ops.progress import activity

        with activity(f"generating {args.scale:,} persons at the 公安 simulator"):
            manifest = population.create(uri, args.scale, args.seed)
        print(
            f"{population.TABLE}: {args.scale:,} persons in database {population.DATABASE}; dirt: "
            + ", ".join(f"{k} {len(v)}" for k, v in manifest.rows.items())
        )
    elif args.action == "day":
        change = population.apply_day(uri, args.day, args.seed)
        print(
            f"{population.TABLE} day {change.day}: births {change.births}, deaths {change.deaths}, "
            f"moves {change.moves}, corrections {change.corrections}"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hub.demo import DemoRefused, print_json, run_demo
    from hub.demo_render import render

    try:
        report = run_demo(scale=args.scale, seed=args.seed)
    except DemoRefused as exc:
        print(f"hub demo: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print_json(report)
    else:
        render(report)
    return 0 if all(r["balanced"] for r in report.runs) else 1


def _ledger(args: argparse.Namespace) -> int:
    from hub.store import ledger
    from hub.store.connection import store_uri

    entries = ledger.entries(store_uri(), source=args.source, limit=args.limit)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        print(
            f"{e.finished_at:%Y-%m-%d %H:%M:%S} {e.batch_id} {e.status} "
            + " ".join(f"{k}={v}" for k, v in e.counts().items())
            + ("" if e.balanced else " UNBALANCED")
        )
    return 0


def _push(args: argparse.Namespace) -> int:
    from hub.push.outbox import outbox_counts, retry_parked
    from hub.store.connection import store_uri

    if args.action == "retry":
        signer = None
        if args.resign:
            from hub.push.signer import signer_from_connection

            signer = signer_from_connection()
        n = retry_parked(store_uri(), kind=args.kind, code=args.code, resign=signer)
        print(f"re-queued {n} parked record(s); the next push_provincial run sends them")
    else:
        print(json.dumps(outbox_counts(store_uri()), indent=2))
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hub.store.connection import store_uri
    from quality import replay

    uri = store_uri()
    if args.action == "list":
        rows = replay.list_rows(
            uri,
            source=args.source,
            status=None if args.status == "all" else args.status,
            rule=args.rule,
            limit=args.limit or 50,
        )
        if args.json:
            print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        for r in [] if args.json else rows:
            print(f"{r.id} {r.source} {r.status} {r.rule} [{r.field or ''}] {r.batch_id} {r.message}")
        return 0
    if args.action == "show":
        if args.id is None:
            print("hub quarantine show needs --id", file=sys.stderr)
            return 2
        row = replay.show(uri, args.id)
        if row is None:
            print(f"no quarantine record {args.id}", file=sys.stderr)
            return 1
        print(json.dumps(asdict(row), ensure_ascii=False, indent=2))
        return 0
    from hub import registry

    sources = [registry.get(args.source)] if args.source else list(registry.SOURCES)
    results = []
    for spec in sources:
        entry = replay.replay(spec, store=uri, limit=args.limit)
        results.append({"source": spec.name, "batch": entry.to_json() if entry else None})
        if not args.json:
            print(
                f"{spec.name}: nothing pending"
                if entry is None
                else f"{spec.name}: {entry.batch_id} replayed={entry.extracted} "
                f"released={entry.inserted + entry.updated + entry.unchanged} still_quarantined={entry.quarantined}"
            )
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


def _quality(args: argparse.Namespace) -> int:
    from hub.store.connection import store_uri
    from quality import report

    uri = store_uri()
    if args.action == "check":
        from quality.findings import run_checks
        from quality.gx_suites import run

        check = run_checks(uri)
        result = run(uri)
        print(f"findings: {check.total} open, {check.resolved} resolved; data docs: {result.docs_index}")
        for s in result.suites:
            print(f"  {s.table}: {'ok' if s.success else 'FAILED ' + ', '.join(s.failed)}")
        return 0 if result.success else 1
    data = report.build(uri, runs=args.runs)
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else report.render_text(data))
    return 0


def _up(args: argparse.Namespace) -> int:
    from hub.ops.stack import StackError, up

    try:
        info = up(timeout=args.timeout)
    except StackError as exc:
        print(f"hub up: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(info.to_json(), indent=2))
    return 0


def _down(args: argparse.Namespace) -> int:
    from hub.ops.stack import down

    stopped = down()
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _status(args: argparse.Namespace) -> int:
    from hub.ops.status import collect, render, stdout_to_stderr

    with stdout_to_stderr():  # Airflow's logging, configured on first import, writes to stdout
        report = collect()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        render(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hub``."""
    parser = argparse.ArgumentParser(prog="hub", description="ShareHub, the city's data-sharing hub")
    sub = parser.add_subparsers(dest="command", required=True)

    store = sub.add_parser("store", help="manage the shared store (embedded PostgreSQL by default)")
    store.add_argument("action", choices=["start", "stop", "status", "url", "migrate"])
    store.add_argument("--json", action="store_true")
    store.set_defaults(func=_store)

    sim = sub.add_parser("simulate", help="department simulators")
    sim.add_argument("action", choices=["up", "down", "generate", "day"])
    sim.add_argument("--scale", type=int, default=5000, help="persons to generate")
    sim.add_argument("--seed", type=int, default=640100)
    sim.add_argument("--day", type=int, default=1, help="which day of changes to apply")
    sim.set_defaults(func=_simulate)

    demo = sub.add_parser("demo", help="run the main job end to end on the embedded store")
    demo.add_argument("--scale", type=int, default=5000, help="persons in the demo city")
    demo.add_argument("--seed", type=int, default=640100)
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.set_defaults(func=_demo)

    led = sub.add_parser("ledger", help="recent batches and their counts")
    led.add_argument("--source")
    led.add_argument("--limit", type=int, default=20)
    led.add_argument("--json", action="store_true")
    led.set_defaults(func=_ledger)

    from hub.efficiency.cli import add_parsers as add_efficiency_parsers

    add_efficiency_parsers(sub)

    from hub.access.cli import add_parsers as add_access_parsers

    add_access_parsers(sub)
    push = sub.add_parser("push", help="the outbox to the provincial platform")
    push.add_argument("action", choices=["retry", "status"], help="retry: re-queue parked (REJECTED) records")
    push.add_argument("--kind", choices=["certificates", "cases"])
    push.add_argument("--code", help="only records parked with this code, e.g. BAD_SIGNATURE")
    push.add_argument("--resign", action="store_true", help="sign certificates again with certificate_signer")
    push.set_defaults(func=_push)

    qua = sub.add_parser("quarantine", help="list, show and replay quarantined rows")
    qua.add_argument("action", choices=["list", "show", "replay"])
    qua.add_argument("--source")
    qua.add_argument("--rule")
    qua.add_argument("--status", default="pending", choices=["pending", "released", "superseded", "all"])
    qua.add_argument("--id", type=int, help="record id (show)")
    qua.add_argument("--limit", type=int, help="at most this many records (list: 50; replay: all pending)")
    qua.add_argument("--json", action="store_true")
    qua.set_defaults(func=_quarantine)

    qual = sub.add_parser("quality", help="quality report, findings and GX checkpoint")
    qual.add_argument("action", choices=["report", "check"])
    qual.add_argument("--runs", type=int, default=20, help="recent runs in the report")
    qual.add_argument("--json", action="store_true")
    qual.set_defaults(func=_quality)

    upp = sub.add_parser("up", help="start the whole stack on this machine (store, simulators, Airflow, API)")
    upp.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for Airflow and the DAGs")
    upp.set_defaults(func=_up)
    sub.add_parser("down", help="stop everything `hub up` started").set_defaults(func=_down)

    stat = sub.add_parser("status", help="every source's last run, freshness, quarantine, backlog")
    stat.add_argument("--json", action="store_true")
    stat.set_defaults(func=_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hub``."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
