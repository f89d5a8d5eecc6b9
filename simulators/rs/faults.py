"""The switchable faults of the 人社 API simulator, and the counters that show they fired.

Faults are counted in data-page requests (``GET /api/v1/insured-persons`` that passed the
token check), so a test gets the same faults at the same places on every run. ``0`` switches a
fault off. The faults are those departments.md lists as seen in practice.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    """Fault settings (all off by default, tokens valid 30 minutes).

    Attributes:
        token_ttl: Seconds a token stays valid.
        expire_tokens_every: After every N-th page served, every issued token expires (a 401 mid-run).
        throttle_every: Every N-th page request gets ``429`` with ``Retry-After: retry_after``.
        retry_after: Seconds announced in ``Retry-After``.
        unavailable_every: Every N-th page request starts a burst of ``unavailable_burst``
            consecutive ``502``/``503`` replies (alternating).
        unavailable_burst: Length of each burst.
        slow_every: Every N-th page request waits ``slow_seconds`` before replying (month end).
        slow_seconds: The delay of a slow page.
    """

    token_ttl: float = 1800.0
    expire_tokens_every: int = 0
    throttle_every: int = 0
    retry_after: int = 1
    unavailable_every: int = 0
    unavailable_burst: int = 3
    slow_every: int = 0
    slow_seconds: float = 25.0

    def update(self, values: dict[str, Any]) -> None:
        """Set the given settings.

        Raises:
            ValueError: on an unknown setting or a value of the wrong kind.
        """
        known = {f.name: f for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(known)}")
            kind = float if known[name].type in ("float", float) else int
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"fault setting {name!r} needs a non-negative number")
            setattr(self, name, kind(value))


@dataclass
class Counters:
    """What the server did, for tests to check that the faults really fired."""

    tokens_issued: int = 0
    page_requests: int = 0
    pages_served: int = 0
    rows_served: int = 0
    unauthorized: int = 0
    throttled: int = 0
    unavailable: int = 0
    slow: int = 0


@dataclass
class FaultState:
    """Faults, counters and the burst in progress, behind one lock."""

    faults: Faults = field(default_factory=Faults)
    counters: Counters = field(default_factory=Counters)
    burst_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self) -> tuple[int, float]:
        """Count a page request and decide its fate.

        Returns:
            ``(status, delay)``: ``0`` to serve the page (after ``delay`` seconds), else the
            error status to reply with.
        """
        with self.lock:
            f, c = self.faults, self.counters
            c.page_requests += 1
            n = c.page_requests
            if f.throttle_every and n % f.throttle_every == 0:
                c.throttled += 1
                return 429, 0.0
            if self.burst_left or (f.unavailable_every and n % f.unavailable_every == 0):
                self.burst_left = (self.burst_left or f.unavailable_burst) - 1
                c.unavailable += 1
                return (502 if c.unavailable % 2 else 503), 0.0
            if f.slow_every and n % f.slow_every == 0:
                c.slow += 1
                return 0, f.slow_seconds
            return 0, 0.0

    def served(self, rows: int) -> bool:
        """Count a served page; return whether every token expires now."""
        with self.lock:
            self.counters.pages_served += 1
            self.counters.rows_served += rows
            every = self.faults.expire_tokens_every
            return bool(every and self.counters.pages_served % every == 0)

    def snapshot(self) -> dict[str, Any]:
        """Faults and counters as JSON."""
        with self.lock:
            return {"faults": asdict(self.faults), "counters": asdict(self.counters)}
