"""One writer at a time in the GX home: an inter-process lock around the file context and Data Docs.

GX's file context keeps its configuration, suites, validation definitions, results and the Data
Docs as plain files, written without any locking. Quality checks of several sources run at once
(on several Celery workers sharing the GX home volume, or several local processes); two of them
writing the same ``great_expectations.yml``, suite JSON or Data Docs page interleave and leave
a context that no longer loads or an index that lists half the suites. :func:`locked` serialises
them with an exclusive ``flock`` on a file in the GX home, released when the holder exits or dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = ".sharehub-gx.lock"


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """Hold the GX home's exclusive lock (waiting for another process holding it) for the ``with`` body.

    Args:
        home: The GX project root (created if missing).
    """
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another quality check to finish with the GX home %s", home)
            started = time.monotonic()
            fcntl.flock(fd, fcntl.LOCK_EX)
            log.info("GX home free after %.1f s", time.monotonic() - started)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
