"""Named failpoints for crash testing.

``HUB_FAILPOINTS=load.after_staging`` (comma-separated) makes :func:`checkpoint` raise at that
point. Tests and chaos drills use it to prove that a crash anywhere leaves the store
consistent; unset, a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os


class InjectedFault(RuntimeError):
    """Raised at an armed failpoint."""


def checkpoint(name: str) -> None:
    """Raise :class:`InjectedFault` if ``name`` is listed in ``HUB_FAILPOINTS``."""
    armed = os.environ.get("HUB_FAILPOINTS", "")
    if armed and name in (p.strip() for p in armed.split(",")):
        raise InjectedFault(f"failpoint {name!r} armed by HUB_FAILPOINTS")
