"""User mistakes on the ``hub`` command line: one error type, one-line messages, checked names.

Every ordinary mistake (a bad option, an unknown name, a refused decision) ends as a
:class:`UsageError`; ``hub.cli.main`` prints it as one line on stderr and exits 2. A traceback
is left for what is not the user's doing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

USAGE_EXIT = 2

F = TypeVar("F", bound=Callable[..., Any])


class UsageError(Exception):
    """A user's mistake: the message names what was wrong and what to do, on one line."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) ending in where to find help."""

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction:
        """Subcommands whose one-line ``help`` is also the description atop their own ``--help``."""
        action = super().add_subparsers(**kwargs)
        add_parser = action.add_parser

        def add_described(name: str, **options: Any) -> argparse.ArgumentParser:
            if "help" in options:
                options.setdefault("description", options["help"])
            return add_parser(name, **options)

        action.add_parser = add_described  # type: ignore[method-assign]
        return action

    def error(self, message: str) -> NoReturn:
        """Raise the parse error as a :class:`UsageError` (``main`` prints it and exits 2)."""
        hint = "" if "(see " in message else f" (see {self.prog} --help)"
        raise UsageError(f"{self.prog}: {message}{hint}")


def mistakes(*types: type[Exception] | str) -> Callable[[F], F]:
    """Treat these exceptions, raised by the decorated command, as the user's mistakes.

    Domain code raises e.g. ``LookupError("no key …")`` or ``AccessDenied``; their messages already
    name the problem. ``KeyError`` is never translated: its message is a bare key, and one escaping
    a command is a bug.

    Args:
        types: Exception classes, or ``"module:Class"`` names imported only when the command runs
            (so that building the parser stays cheap).
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            resolved = tuple(_resolve(t) for t in types)
            try:
                return func(*args, **kwargs)
            except KeyError:
                raise
            except resolved as exc:
                raise UsageError(str(exc)) from exc

        return command  # type: ignore[return-value]

    return wrap


def _resolve(spec: type[Exception] | str) -> type[Exception]:
    if isinstance(spec, str):
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)
    return spec


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """Add the usual ``--json`` flag to ``parser``."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON instead of text")


def add_actions(parser: argparse.ArgumentParser, what: str) -> argparse._SubParsersAction:
    """Add sub-subcommands (``hub store url``) to ``parser``; the chosen one is ``args.action``."""
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION", title="actions", help=what)


def one_of(what: str, known: Callable[[], Iterable[str]], hint: str = "") -> Callable[[str], str]:
    """An argparse ``type`` accepting only known names; the error lists them.

    Args:
        what: What the names are (``source``, ``provider``), for the message.
        known: Returns the valid names; called only when a value is checked, so that building
            the parser imports nothing heavy.
        hint: Appended to the error, e.g. where the names come from.
    """

    def check(value: str) -> str:
        names = sorted(set(known()))
        if value not in names:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {value!r}; known: {', '.join(names)}" + (f" ({hint})" if hint else "")
            )
        return value

    check.__name__ = what
    return check


def source_name() -> Callable[[str], str]:
    """The argparse ``type`` of a ``--source`` option: a name declared in :mod:`hub.registry`."""
    return one_of("source", source_names)


def source_names() -> list[str]:
    """The names of the sources declared in :mod:`hub.registry`, in declaration order."""
    from hub.registry import SOURCES  # here: the registry (schemas, connectors) stays out of CLI start-up

    return [s.name for s in SOURCES]


def iso_date(value: str) -> dt.date:
    """An argparse ``type`` for a date written ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write YYYY-MM-DD") from None


def positive_int(value: str) -> int:
    """An argparse ``type`` for a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def existing_file(value: str) -> Path:
    """An argparse ``type`` for a file that must exist and be readable."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    return path
