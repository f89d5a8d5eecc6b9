"""Batch gates: whole-batch checks that fail a run before anything is merged.

A source configures its gates in :data:`SOURCE_GATES` below, next to the defaults (the
``SourceSpec.options`` are connector settings and go to the connector factory as they are);
missing keys take the defaults:

* ``max_quarantine_rate`` (default 0.10): the share of extracted rows that may be quarantined;
  applies once the batch has at least ``min_rows`` rows (default 100), so a tiny incremental
  batch with one bad row does not stop a source.
* ``volume_factor`` (default ``None``, off): the batch's extracted rows must lie within
  ``[median / factor, median * factor]`` of the last ``volume_history`` (default 5) succeeded
  runs of the source (replays not counted); needs ``volume_min_history`` (default 3) runs.

A failing gate raises :class:`GateFailed` naming the gate and by how much; the pipeline raises
it inside the load transaction, so the batch loads nothing and the ledger records a failure.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    "max_quarantine_rate": 0.10,
    "min_rows": 100,
    "volume_factor": None,
    "volume_history": 5,
    "volume_min_history": 3,
}

SOURCE_GATES: dict[str, dict[str, Any]] = {
    # 公安 sends ~1.5% dirt (departments.md); five times that means something broke at the source.
    "ga_population": {"max_quarantine_rate": 0.08},
}
"""Per-source gate settings, by registry name (a source not listed gets :data:`DEFAULTS`)."""


class GateFailed(RuntimeError):
    """A batch gate stopped the run; nothing of the batch was loaded."""


@dataclass(frozen=True)
class GateConfig:
    """The gates of one source (see the module docstring)."""

    max_quarantine_rate: float | None
    min_rows: int
    volume_factor: float | None
    volume_history: int
    volume_min_history: int

    @classmethod
    def for_source(cls, source: str) -> GateConfig:
        """The gates of ``source`` (:data:`SOURCE_GATES` over :data:`DEFAULTS`)."""
        return cls.from_options(SOURCE_GATES.get(source, {}))

    @classmethod
    def from_options(cls, given: Mapping[str, Any]) -> GateConfig:
        """Gate settings over the defaults; unknown keys are an error (a typo would disable a gate)."""
        unknown = set(given) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown gate option(s): {', '.join(sorted(unknown))}")
        return cls(**{**DEFAULTS, **given})


def recent_volumes(uri: str, source: str, limit: int) -> list[int]:
    """Extracted rows of the source's last ``limit`` succeeded ingest runs (replays excluded), newest first."""
    import psycopg

    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "SELECT extracted FROM hub.ledger WHERE source = %s AND status = 'succeeded' "
            "AND run_id NOT LIKE 'replay:%%' ORDER BY started_at DESC LIMIT %s",
            (source, limit),
        ).fetchall()
    return [int(r[0]) for r in rows]


def check(source: str, config: GateConfig, *, extracted: int, quarantined: int, history: list[int]) -> list[str]:
    """Evaluate the gates of one batch.

    Args:
        source: Source name, for the messages.
        config: The source's gates.
        extracted: Rows read in this batch.
        quarantined: Rows rejected by the rules in this batch.
        history: Extracted rows of recent succeeded runs.

    Returns:
        One message per failing gate (empty when the batch may load).
    """
    failed: list[str] = []
    rate_limit = config.max_quarantine_rate
    if rate_limit is not None and extracted >= config.min_rows and extracted:
        rate = quarantined / extracted
        if rate > rate_limit:
            failed.append(
                f"source {source}: gate max_quarantine_rate failed: {quarantined} of {extracted} rows "
                f"quarantined ({rate:.1%}), limit {rate_limit:.1%}, exceeded by {rate - rate_limit:.1%} points"
            )
    factor = config.volume_factor
    if factor is not None and len(history) >= config.volume_min_history:
        median = statistics.median(history)
        low, high = median / factor, median * factor
        if extracted < low or extracted > high:
            ratio = extracted / median if median else float("inf")
            failed.append(
                f"source {source}: gate volume failed: {extracted} rows extracted, {ratio:.2f}x the median "
                f"{median:g} of the last {len(history)} runs (allowed {low:g}..{high:g}, factor {factor:g})"
            )
    return failed


def enforce(uri: str, source: str, *, extracted: int, quarantined: int) -> None:
    """Raise :class:`GateFailed` if any gate of ``source`` fails for this batch."""
    config = GateConfig.for_source(source)
    history = recent_volumes(uri, source, config.volume_history) if config.volume_factor is not None else []
    failed = check(source, config, extracted=extracted, quarantined=quarantined, history=history)
    if failed:
        raise GateFailed("; ".join(failed) + "; nothing from this batch was loaded")
