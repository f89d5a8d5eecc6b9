"""Faults the simulated platform injects on demand, and the city's request quota.

Set through ``POST /admin/faults`` (any subset of the fields of :class:`FaultConfig`); what was
injected is counted in ``GET /admin/stats`` so a test can prove each fault really happened.
Random choices come from a seeded generator, so a run is repeatable. ``drop_next`` drops the
replies of the next batches for certain, and ``clock_offset_seconds`` moves the platform's clock
for the day it counts records on, so a test can show a batch stored after midnight without
waiting for midnight.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class FaultConfig:
    """What to inject.

    Attributes:
        quota_rps: Requests a second allowed per app id before ``429`` (0 lifts the quota).
        throttle_rate: Share of requests answered ``429`` regardless of the quota.
        retry_after: ``Retry-After`` seconds sent with a ``429``.
        error_rate: Share of requests answered ``500`` or ``502`` (nothing stored).
        maintenance_period: Seconds between the starts of two ``503`` maintenance windows (0: none).
        maintenance_window: Length in seconds of each window, from the moment the faults were set.
        slow_rate: Share of batches stored and then answered after ``slow_seconds``.
        slow_seconds: Delay of a slow reply.
        drop_rate: Share of batches stored and then answered by dropping the connection.
        drop_next: Drop the connection after storing each of the next this many batches.
        clock_offset_seconds: Added to the platform's clock when it files an accepted record (the
            day, Asia/Shanghai, the record is counted on in the reconciliation); requests are still
            authenticated against the real clock.
        seed: Seed of the random choices.
    """

    quota_rps: float = 20.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    error_rate: float = 0.0
    maintenance_period: float = 0.0
    maintenance_window: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    drop_rate: float = 0.0
    drop_next: int = 0
    clock_offset_seconds: float = 0.0
    seed: int = 640000


class FaultInjector:
    """Decides, request by request, which fault (if any) the platform shows."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self._recent: dict[str, deque[float]] = {}
        self.configure(asdict(config or FaultConfig()))

    def configure(self, changes: dict[str, Any]) -> FaultConfig:
        """Apply ``changes`` to the configuration (unknown names are an error) and restart the clock.

        Raises:
            ValueError: for an unknown fault name.
        """
        known = {f.name for f in fields(FaultConfig)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        with self._lock:
            current = asdict(getattr(self, "config", FaultConfig()))
            current.update(changes)
            self.config = FaultConfig(**current)
            self._rng = random.Random(self.config.seed)
            self._since = time.monotonic()
        return self.config

    def before(self, app_id: str) -> tuple[int, dict[str, str]] | None:
        """A fault answered before the request is processed: ``(status, headers)`` or ``None``."""
        with self._lock:
            c = self.config
            self.stats["requests"] += 1
            now = time.monotonic()
            if c.quota_rps > 0:
                window = self._recent.setdefault(app_id, deque())
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) >= c.quota_rps:
                    self.stats["429_quota"] += 1
                    return 429, {"Retry-After": str(c.retry_after)}
                window.append(now)
            if c.maintenance_period > 0 and (now - self._since) % c.maintenance_period < c.maintenance_window:
                self.stats["503"] += 1
                return 503, {}
            if self._rng.random() < c.throttle_rate:
                self.stats["429"] += 1
                return 429, {"Retry-After": str(c.retry_after)}
            if self._rng.random() < c.error_rate:
                status = self._rng.choice((500, 502))
                self.stats[str(status)] += 1
                return status, {}
        return None

    def clock(self) -> dt.datetime:
        """The platform's clock for filing records: now, moved by ``clock_offset_seconds``."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.clock_offset_seconds)

    def after_store(self) -> str | None:
        """A fault shown after a batch was stored: ``"drop"``, ``"slow"`` or ``None``."""
        with self._lock:
            c = self.config
            if c.drop_next > 0:
                c.drop_next -= 1
                self.stats["drop"] += 1
                return "drop"
            if self._rng.random() < c.drop_rate:
                self.stats["drop"] += 1
                return "drop"
            if self._rng.random() < c.slow_rate:
                self.stats["slow"] += 1
                return "slow"
        return None
