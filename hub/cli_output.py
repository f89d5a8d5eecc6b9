"""stdout belongs to a ``hub`` command's result; everything else goes to stderr.

Libraries write to stdout behind our back: Airflow configures logging on first import with a
handler bound to whatever ``sys.stdout`` is at that moment (its structured-log warnings, such as
platformdirs' ``XDG_RUNTIME_DIR is not set``, then land in ``$(hub store url)``), child
processes inherit file descriptor 1, rich consoles print to ``sys.stdout``. So while a command
runs, :func:`reserved_stdout` points both ``sys.stdout`` and descriptor 1 at stderr, and only
:func:`echo` (or a renderer inside :func:`to_result`) reaches the real stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

_result: TextIO | None = None


def result_stream() -> TextIO:
    """The stream a command's result goes to: the real stdout while :func:`reserved_stdout` is active."""
    return _result if _result is not None else sys.stdout


def echo(*values: object, sep: str = " ", end: str = "\n") -> None:
    """Print ``values`` as (part of) the command's result, flushed at once."""
    print(*values, sep=sep, end=end, file=result_stream(), flush=True)


@contextlib.contextmanager
def to_result() -> Iterator[None]:
    """Let code that prints to ``sys.stdout`` (rich renderers, ``print``) write the result for the block."""
    with contextlib.redirect_stdout(result_stream()):
        yield
    result_stream().flush()


def _fd(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO, pytest's capture: no real descriptor
        return None


@contextlib.contextmanager
def reserved_stdout(inherit: bool = False) -> Iterator[TextIO]:
    """Reserve stdout for the result for the block; yields the result stream.

    Args:
        inherit: Leave stdout alone (a command that hands the terminal to a child, e.g. ``psql``).
    """
    global _result
    entry, saved_result = sys.stdout, _result
    if inherit:
        yield entry
        return
    saved_fd: int | None = None
    result: TextIO = entry
    if _fd(entry) == 1:
        entry.flush()
        saved_fd = os.dup(1)
        result = open(  # closed in finally, after descriptor 1 is restored
            saved_fd, "w", encoding=entry.encoding, errors=entry.errors, closefd=False
        )
        os.dup2(2, 1)
    _result, sys.stdout = result, sys.stderr
    try:
        yield result
    finally:
        result.flush()
        sys.stderr.flush()
        _result, sys.stdout = saved_result, entry
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            result.close()
            os.close(saved_fd)
