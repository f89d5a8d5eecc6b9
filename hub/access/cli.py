"""The ``hub catalog``, ``hub access``, ``hub audit``, ``hub objections`` and ``hub api`` commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import psycopg


def _connect() -> psycopg.Connection:
    from hub.store.connection import store_uri

    return psycopg.connect(store_uri(), autocommit=True)


def _catalog(args: argparse.Namespace) -> int:
    from hub.access.catalogue import entries

    with _connect() as conn:
        found = entries(conn)
    if args.json:
        print(json.dumps([e.to_json() for e in found], ensure_ascii=False, indent=2))
        return 0
    for e in found:
        rows = "-" if e.row_count is None else f"{e.row_count:,}"
        print(
            f"{e.code:<16} {e.name:<10} {e.table:<26} provider {e.provider:<3} {e.sharing_title} "
            f"{e.update_cycle:<16} rows {rows:>9} last {e.last_update or '-'}"
        )
        for f in e.fields:
            personal = "" if f["personal"] == "none" else f" personal:{f['personal']}"
            print(f"    {f['name']:<20} {f['type']:<12} {f['sharing_title']}{personal}  {f['title']}")
    return 0


_NEEDS = {
    "register": ("dept",),
    "rotate": ("dept",),
    "revoke-key": ("key_id",),
    "apply": ("dept", "resource", "fields", "purpose"),
    "approve": ("id", "dept"),
    "refuse": ("id", "dept", "reason"),
    "sql": ("dept",),
}


def _access(args: argparse.Namespace) -> int:
    from hub.access import catalogue, consumers, grants, sqlviews

    missing = [f"--{n.replace('_', '-')}" for n in _NEEDS[args.action] if getattr(args, n) is None]
    if missing:
        print(f"hub access {args.action}: missing {' '.join(missing)}")
        return 2
    with _connect() as conn:
        match args.action:
            case "register":
                key = consumers.register(conn, args.dept, args.name or args.dept)
                print(f"department {key.dept_code} registered; API key (shown once): {key.token}")
            case "rotate":
                key = consumers.rotate(conn, args.dept)
                print(f"new API key for {key.dept_code} (shown once; older keys revoked): {key.token}")
            case "revoke-key":
                consumers.revoke(conn, args.key_id)
                print(f"key {args.key_id} revoked")
            case "apply":
                table = catalogue.resolve(args.resource)
                app_id = grants.apply(
                    conn, args.dept, table, args.fields.split(","), args.purpose, _split(args.unmasked)
                )
                print(f"application #{app_id} filed with {table.provider}")
            case "approve":
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.days) if args.days else None
                grants.approve(conn, args.id, args.dept, expires)
                print(f"application #{args.id} approved" + (f" until {expires:%Y-%m-%d}" if expires else ""))
            case "refuse":
                grants.refuse(conn, args.id, args.dept, args.reason)
                print(f"application #{args.id} refused")
            case "sql":
                role, password = sqlviews.enable(conn, args.dept)
                print(
                    f"role {role} (password shown once): {password}; views in schema {sqlviews.schema_name(args.dept)}"
                )
    return 0


def _split(text: str | None) -> list[str]:
    return [p for p in (text or "").split(",") if p]


def _audit(args: argparse.Namespace) -> int:
    from hub.access.audit import verify

    with _connect() as conn:
        report = verify(conn)
    if args.json:
        print(json.dumps({"entries": report.entries, "ok": report.ok, "problems": report.problems}, indent=2))
    else:
        print(f"{report.entries} entries: " + ("chain intact" if report.ok else "CHAIN BROKEN"))
        for p in report.problems:
            print(f"  {p}")
    return 0 if report.ok else 1


def _objections(args: argparse.Namespace) -> int:
    from hub.access import objections

    with _connect() as conn:
        found = objections.listing(conn, provider=args.provider, dept=args.dept)
    if args.json:
        print(json.dumps([o.to_json() for o in found], ensure_ascii=False, indent=2))
        return 0
    for o in found:
        late = " OVERDUE" if o.overdue else ""
        print(
            f"#{o.id} {o.status:<10} {o.dept_code}->{o.provider} {o.resource} due {o.due_on}{late}"
            + (f" corrected by {o.correcting_batch}" if o.correcting_batch else "")
        )
    return 0


def _api(args: argparse.Namespace) -> int:
    from hub.api.server import serve
    from hub.store.connection import store_uri

    serve(store_uri(), args.host, args.port)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``hub``'s parser."""
    cat = sub.add_parser("catalog", help="the 政务信息资源目录 (declared resources with live figures)")
    cat.add_argument("--json", action="store_true")
    cat.set_defaults(func=_catalog)

    acc = sub.add_parser("access", help="departments, keys, applications/grants, SQL roles")
    acc.add_argument("action", choices=["register", "rotate", "revoke-key", "apply", "approve", "refuse", "sql"])
    acc.add_argument("--dept", help="department code (the applicant, or the provider deciding)")
    acc.add_argument("--name", help="department name (register)")
    acc.add_argument("--key-id", help="key id (revoke-key)")
    acc.add_argument("--resource", help="resource code or table (apply)")
    acc.add_argument("--fields", help="comma-separated fields (apply)")
    acc.add_argument("--unmasked", help="comma-separated fields wanted unmasked (apply)")
    acc.add_argument("--purpose", help="purpose of the application (apply)")
    acc.add_argument("--id", type=int, help="application id (approve/refuse)")
    acc.add_argument("--days", type=int, help="grant validity in days (approve)")
    acc.add_argument("--reason", help="reason (refuse)")
    acc.set_defaults(func=_access)

    aud = sub.add_parser("audit", help="the hash-chained access audit log")
    aud.add_argument("action", choices=["verify"])
    aud.add_argument("--json", action="store_true")
    aud.set_defaults(func=_audit)

    obj = sub.add_parser("objections", help="校核纠错: objections by provider queue or filing department")
    obj.add_argument("--provider")
    obj.add_argument("--dept")
    obj.add_argument("--json", action="store_true")
    obj.set_defaults(func=_objections)

    api = sub.add_parser("api", help="the departments' HTTP API")
    api.add_argument("action", choices=["serve"])
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8640)
    api.set_defaults(func=_api)
