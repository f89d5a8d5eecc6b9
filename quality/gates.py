"""Batch gates: whole-batch checks that fail a run before anything is merged.

A source declares its gates in the registry (``SourceSpec.gates``, a :class:`GateConfig`);
fields it does not give keep their defaults:

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
from dataclasses import dataclass

from connectors.connections import connect


class GateFailed(RuntimeError):
    """A batch gate stopped the run; nothing of the batch was loaded."""


@dataclass(frozen=True)
class GateConfig:
    """The gates of one source (see the module docstring)."""

    max_quarantine_rate: float | None = 0.10
    min_rows: int = 100
    volume_factor: float | None = None
    volume_history: int = 5
    volume_min_history: int = 3


def recent_volumes(uri: str, source: str, limit: int) -> list[int]:
    """Extracted rows of the source's last ``limit`` succeeded ingest runs (replays excluded), newest first."""
    with connect(uri) as conn:
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


def enforce(uri: str, source: str, config: GateConfig, *, extracted: int, quarantined: int) -> None:
    """Raise :class:`GateFailed` if any of the gates ``config`` of ``source`` fails for this batch."""
    history = recent_volumes(uri, source, config.volume_history) if config.volume_factor is not None else []
    failed = check(source, config, extracted=extracted, quarantined=quarantined, history=history)
    if failed:
        raise GateFailed("; ".join(failed) + "; nothing from this batch was loaded")
