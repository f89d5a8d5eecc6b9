"""The ``hub catalog``, ``hub access``, ``hub audit``, ``hub objections`` and ``hub api`` commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING

from hub.cli_args import UsageError, add_actions, add_json, mistakes, one_of, positive_int
from hub.cli_output import echo
from hub.store.connection import connect

if TYPE_CHECKING:
    import psycopg


def _connect() -> psycopg.Connection:
    return connect(autocommit=True)


def _catalog(args: argparse.Namespace) -> int:
    from hub.access.catalogue import entries

    with _connect() as conn:
        found = entries(conn)
    if args.json:
        echo(json.dumps([e.to_json() for e in found], ensure_ascii=False, indent=2))
        return 0
    for e in found:
        rows = "-" if e.row_count is None else f"{e.row_count:,}"
        echo(
            f"{e.code:<16} {e.name:<10} {e.table:<26} provider {e.provider:<3} {e.sharing_title} "
            f"{e.update_cycle:<16} rows {rows:>9} last {e.last_update or '-'}"
        )
        for f in e.fields:
            personal = "" if f["personal"] == "none" else f" personal:{f['personal']}"
            hides = f" hides:{','.join(f['masked_hides'])}" if f["masked_hides"] else ""
            echo(f"    {f['name']:<20} {f['type']:<12} {f['sharing_title']}{personal}{hides}  {f['title']}")
    return 0


def _resource_codes() -> list[str]:
    from hub.access.catalogue import tables

    return [t.code for t in tables().values()]


def _providers() -> list[str]:
    from hub.access.catalogue import tables

    return [t.provider for t in tables().values()]


def _resource(value: str) -> str:
    """An argparse ``type``: a resource code, table or qualified table name from the catalogue."""
    from hub.access.catalogue import resolve

    try:
        return resolve(value).qualified_name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown resource {value!r}; known: {', '.join(sorted(_resource_codes()))} (see `hub catalog`)"
        ) from None


_provider = one_of("provider department", _providers, "the providers of the resources in `hub catalog`")


def _registered(conn: psycopg.Connection, code: str) -> None:
    """Raise :class:`UsageError` unless department ``code`` is registered; the message lists those that are."""
    known = [r[0] for r in conn.execute("SELECT code FROM access.department ORDER BY code")]
    if code not in known:
        raise UsageError(
            f"department {code} is not registered (registered: {', '.join(known) or 'none'}); "
            f"register it with `hub access register --dept {code} --name NAME`"
        )


def _fields(resource: str, requested: list[str]) -> None:
    """Raise :class:`UsageError` naming a field ``resource`` does not have, with the fields it has."""
    from hub.access.catalogue import resolve

    table = resolve(resource)
    names = [f.name for f in table.fields]
    unknown = [f for f in requested if f not in names]
    if unknown:
        raise UsageError(f"{table.code} has no field {', '.join(unknown)}; its fields: {', '.join(names)}")


@mistakes(LookupError, "hub.access.grants:AccessDenied")
def _access(args: argparse.Namespace) -> int:
    import psycopg

    from hub.access import budgets, catalogue, consumers, grants, officers, sqlviews

    with _connect() as conn:
        match args.action:
            case "register":
                if conn.execute("SELECT 1 FROM access.department WHERE code = %s", (args.dept,)).fetchone():
                    raise UsageError(
                        f"department {args.dept} is already registered; "
                        f"`hub access rotate --dept {args.dept}` issues it a new key"
                    )
                try:
                    key = consumers.register(conn, args.dept, args.name or args.dept)
                except psycopg.errors.UniqueViolation:  # registered meanwhile by someone else
                    raise UsageError(f"department {args.dept} is already registered") from None
                echo(f"department {key.dept_code} registered; API key (shown once): {key.token}")
            case "rotate":
                _registered(conn, args.dept)
                key = consumers.rotate(conn, args.dept)
                echo(f"new API key for {key.dept_code} (shown once; older keys revoked): {key.token}")
            case "revoke-key":
                try:
                    consumers.revoke(conn, args.key_id)
                except LookupError:
                    raise UsageError(
                        f"no API key with id {args.key_id!r}; the id is the part between shk_ and the dot"
                    ) from None
                echo(f"key {args.key_id} revoked")
            case "apply":
                _registered(conn, args.dept)
                fields = _split(args.fields)
                _fields(args.resource, fields)
                table = catalogue.resolve(args.resource)
                app_id = grants.apply(conn, args.dept, table, fields, args.purpose, _split(args.unmasked))
                echo(f"application #{app_id} filed with {table.provider}")
            case "approve":
                expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.days) if args.days else None
                grants.approve(conn, args.id, args.dept, expires)
                echo(f"application #{args.id} approved" + (f" until {expires:%Y-%m-%d}" if expires else ""))
            case "refuse":
                grants.refuse(conn, args.id, args.dept, args.reason)
                echo(f"application #{args.id} refused")
            case "officer":
                _registered(conn, args.dept)
                if not args.name.strip():
                    raise UsageError("--name must name the officer or office the credential is issued to")
                cred = officers.issue(conn, args.dept, args.name)
                echo(
                    f"officer credential for {cred.dept_code} (shown once; send it as X-Officer-Key to decide "
                    f"applications): {cred.token}"
                )
            case "revoke-officer":
                officers.revoke(conn, args.officer_id)
                echo(f"officer {args.officer_id} revoked")
            case "budget":
                if args.dept != "*":
                    _registered(conn, args.dept)
                budgets.set_budget(conn, args.kind, args.per_minute, args.per_day, args.dept, args.resource)
                echo(
                    f"budget {args.kind} for {args.dept} on {args.resource}: {args.per_minute} per minute, "
                    f"{args.per_day} per day"
                )
            case "sql":
                _registered(conn, args.dept)
                try:
                    role, password = sqlviews.enable(conn, args.dept)
                except sqlviews.RoleExistsError as exc:
                    raise UsageError(str(exc)) from None
                schema = sqlviews.schema_name(args.dept)
                echo(f"role {role} (password shown once): {password}; views in schema {schema}")
    return 0


def _count(value: str) -> int:
    """An argparse ``type``: a whole number, 0 or more."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 0 or more")
    return int(value)


def _any_resource(value: str) -> str:
    """An argparse ``type``: ``*`` or a resource (see :func:`_resource`)."""
    return value if value == "*" else _resource(value)


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _audit(args: argparse.Namespace) -> int:
    from hub.access import checkpoint
    from hub.access.audit import verify

    with _connect() as conn:
        if args.action == "ingest":
            from hub.access.sqlreads import ingest

            echo(f"{ingest(conn)} SQL view reads appended to the audit")
            return 0
        if args.action == "checkpoint":
            from hub.access.sqlreads import ingest

            ingest(conn)  # the views' reads belong in the chain before its head is signed
            try:
                cp = checkpoint.write(conn)
            except checkpoint.CheckpointKeyError as exc:
                raise UsageError(str(exc)) from None
            echo(
                "the audit log is empty: nothing to checkpoint"
                if cp is None
                else f"checkpoint: entry {cp.seq} {cp.hash}"
            )
            return 0
        report = verify(conn)
        try:
            checkpoints, cp_problems = checkpoint.verify(conn)
        except checkpoint.CheckpointKeyError as exc:
            checkpoints, cp_problems = 0, [f"checkpoints not checked: {exc}"]
    problems = report.problems + cp_problems
    if args.json:
        echo(
            json.dumps(
                {"entries": report.entries, "checkpoints": checkpoints, "ok": not problems, "problems": problems},
                indent=2,
            )
        )
    else:
        state = "chain intact" if not report.problems else "CHAIN BROKEN"
        signed = f"{checkpoints} checkpoints " + ("match" if not cp_problems else "DO NOT MATCH")
        echo(f"{report.entries} entries: {state}; {signed} ({checkpoint.checkpoint_file()})")
        for p in problems:
            echo(f"  {p}")
    return 0 if not problems else 1


def _objections(args: argparse.Namespace) -> int:
    from hub.access import objections

    with _connect() as conn:
        if args.dept:
            _registered(conn, args.dept)
        found = objections.listing(conn, provider=args.provider, dept=args.dept)
    if args.json:
        echo(json.dumps([o.to_json() for o in found], ensure_ascii=False, indent=2))
        return 0
    for o in found:
        late = " OVERDUE" if o.overdue else ""
        echo(
            f"#{o.id} {o.status:<10} {o.dept_code}->{o.provider} {o.resource} due {o.due_on}{late}"
            + (f" corrected by {o.correcting_batch}" if o.correcting_batch else "")
        )
    return 0


@mistakes("hub.access.keyconfig:KeyConfigError")
def _api(args: argparse.Namespace) -> int:
    from hub.api.server import serve, workers_setting
    from hub.store.connection import api_store_uri

    serve(api_store_uri(), args.host, args.port, on_listening=echo, workers=workers_setting(args.workers))
    return 0


def _port(value: str) -> int:
    """An argparse ``type``: a TCP port, 0 meaning any free one."""
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (0-65535; 0 picks a free one)")
    return int(value)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``hub``'s parser."""
    cat = sub.add_parser("catalog", help="the 政务信息资源目录 (declared resources with live figures)")
    add_json(cat, "the catalogue")
    cat.set_defaults(func=_catalog)

    acc = sub.add_parser("access", help="departments, keys, applications/grants, SQL roles")
    acc.set_defaults(func=_access)
    acts = add_actions(acc, "what to do")
    dept_help = "department code, e.g. MZ"
    p = acts.add_parser("register", help="register a consuming department and issue its first API key")
    p.add_argument("--dept", required=True, help=dept_help)
    p.add_argument("--name", help="department name, e.g. 银川市民政局 (default: the code)")
    p = acts.add_parser("rotate", help="issue a department a new API key and revoke its older ones")
    p.add_argument("--dept", required=True, help=dept_help)
    p = acts.add_parser("revoke-key", help="revoke one API key now")
    p.add_argument("--key-id", required=True, help="the key id: the part of shk_<id>.<secret> before the dot")
    p = acts.add_parser("apply", help="file a department's application for fields of a 有条件共享 resource")
    p.add_argument("--dept", required=True, help="the applying department's code")
    p.add_argument("--resource", required=True, type=_resource, help="resource code or table, see `hub catalog`")
    p.add_argument("--fields", required=True, help="comma-separated fields wanted")
    p.add_argument("--unmasked", help="comma-separated fields wanted unmasked (among --fields)")
    p.add_argument("--purpose", required=True, help="the purpose of the application (required by the rules)")
    for action in ("approve", "refuse"):
        p = acts.add_parser(action, help=f"the providing department {action}s a pending application")
        p.add_argument("--id", type=positive_int, required=True, help="the application id (#N when it was filed)")
        p.add_argument("--dept", type=_provider, required=True, help="the providing department deciding, e.g. GA")
        if action == "approve":
            p.add_argument("--days", type=positive_int, help="grant validity in days (default: no expiry)")
        else:
            p.add_argument("--reason", required=True, help="the reason, told to the applicant")
    p = acts.add_parser("officer", help="issue a provider officer the credential that decides applications")
    p.add_argument("--dept", required=True, help="the officer's (providing) department, e.g. GA")
    p.add_argument("--name", required=True, help="the officer or office, e.g. 公安局数据审批科")
    p = acts.add_parser("revoke-officer", help="revoke an officer's credential now")
    p.add_argument("--officer-id", required=True, help="the id: the part of sho_<id>.<secret> before the dot")
    p = acts.add_parser("budget", help="set a query budget (verification calls, values filtered on masked fields)")
    p.add_argument("--kind", required=True, choices=("verify", "masked_filter"), help="what is counted")
    p.add_argument("--per-minute", type=_count, required=True, help="limit per minute")
    p.add_argument("--per-day", type=_count, required=True, help="limit per day (China Standard Time)")
    p.add_argument("--dept", default="*", help="the department (default * = every department)")
    p.add_argument("--resource", type=_any_resource, default="*", help="resource code or table (default * = any)")
    p = acts.add_parser("sql", help="create or reset a department's read-only SQL role and its views")
    p.add_argument("--dept", required=True, help=dept_help)

    aud = sub.add_parser("audit", help="the hash-chained access audit log")
    aud.set_defaults(func=_audit)
    acts = add_actions(aud, "what to do with the audit log")
    add_json(
        acts.add_parser("verify", help="check the hash chain and its signed checkpoints (exit 1 when broken)"),
        "the check",
    )
    acts.add_parser(
        "checkpoint", help="append the SQL views' reads, sign the chain's head and append it to the checkpoint file"
    )
    acts.add_parser("ingest", help="append the reads recorded by the departments' SQL views to the audit")

    obj = sub.add_parser("objections", help="校核纠错: objections by provider queue or filing department")
    obj.add_argument("--provider", type=_provider, help="only this provider's queue, e.g. GA")
    obj.add_argument("--dept", help="only objections filed by this department")
    add_json(obj, "the objections")
    obj.set_defaults(func=_objections)

    api = sub.add_parser("api", help="the departments' HTTP API")
    api.set_defaults(func=_api)
    acts = add_actions(api, "what to do with the API")
    srv = acts.add_parser("serve", help="serve the API in the foreground; prints its URL once listening")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=_port, default=8640, help="port to listen on (default 8640; 0 picks a free one)")
    srv.add_argument(
        "--workers",
        help="worker processes, about one per core (default $HUB_API_WORKERS or 1; `hub up` and compose set it)",
    )
