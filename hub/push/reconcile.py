"""Daily 对账 with the provincial platform.

For each kind and day (Asia/Shanghai), the platform's count and SM3 digest of the sorted
``key:version`` lines it accepted are compared with what the hub holds as delivered on that day.

1. **Settle open days.** Some delivered records have a day the platform's answer did not tell
   (``accepted_days``: a ``DUPLICATE`` after a lost reply, an ``ACCEPTED`` across midnight; see
   :mod:`hub.push.outbox`). The records the platform stored in one go (``accepted_group``) share
   a day; the hub looks for the groups that, added to the day's certain records, give exactly the
   platform's count and digest. Those are booked on the day for good, the other groups are not
   on it (one candidate day fewer, booked on the next candidate). A lost reply across midnight
   therefore heals at the next 对账, without resending anything.
2. **Re-queue.** If the day still differs, its delivered rows are re-queued: the platform answers
   ``DUPLICATE`` for what it has (they keep their day) and accepts what it lost (they move to the
   day of the resend), so a recheck of the day matches.
3. **Alert.** A difference left after that (the recheck, ``requeue=False``) is persistent: it is
   kept in ``hub.reconciliation_alert`` (``hub status`` shows it) until a later comparison of the
   day matches, and the caller fails.

Every comparison is stored in ``hub.push_reconciliation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from hub.push.gm import digest_lines
from hub.push.outbox import KINDS
from hub.push.provincial_client import ProvincialClient
from hub.store.connection import connect

MAX_DIGESTS = 256  # choices of open groups tried per day and kind before giving up (then the re-queue)


@dataclass
class OpenGroup:
    """Delivered records stored by the platform in one go whose day is not known yet."""

    group: str
    ids: list[int]
    lines: list[str]
    booked: dt.date
    days: list[dt.date]


def hub_side(conn: psycopg.Connection, kind: str, day: dt.date) -> tuple[int, str]:
    """Count and digest of what the hub holds as delivered (accepted on ``day``)."""
    rows = conn.execute(
        "SELECT record_key, version FROM hub.push_outbox WHERE kind = %s AND status = 'delivered' AND accepted_on = %s",
        (kind, day),
    ).fetchall()
    return len(rows), digest_lines(f"{k}:{v}" for k, v in rows)


def find_day_members(
    certain: list[str], groups: list[OpenGroup], day: dt.date, count: int, digest: str, limit: int = MAX_DIGESTS
) -> list[OpenGroup] | None:
    """The open groups that, with the ``certain`` lines, are exactly the platform's figures of ``day``.

    Choices whose record count fits are tried, the likeliest first: the groups booked on ``day``
    (nothing crossed midnight), then runs of groups consecutive in the order they were formed
    (the platform's day changes once, at its midnight), then any other, at most ``limit`` digests.

    Returns:
        The groups on ``day`` (possibly none), or ``None`` if no choice matches.
    """
    need = count - len(certain)
    if need < 0:
        return None
    ordered = sorted(groups, key=lambda g: min(g.ids))
    base = sorted(certain)  # two sorted runs sort in linear time: each try costs a merge and a hash
    tried = 0
    seen: set[tuple[str, ...]] = set()
    for choice in _choices(ordered, day, need):
        names = tuple(sorted(g.group for g in choice))
        if names in seen:
            continue
        seen.add(names)
        if digest_lines(base + sorted(line for g in choice for line in g.lines)) == digest:
            return choice
        tried += 1
        if tried >= limit:
            return None
    return None


def _choices(groups: list[OpenGroup], day: dt.date, need: int) -> Iterator[list[OpenGroup]]:
    """Choices of groups (in formation order) holding ``need`` records in all, the likeliest first."""
    sizes = [len(g.ids) for g in groups]
    booked = [g for g in groups if g.booked == day]
    if sum(len(g.ids) for g in booked) == need:
        yield booked
    if need == 0:
        yield []
    for start in range(len(groups)):
        total = 0
        for end in range(start, len(groups)):
            total += sizes[end]
            if total == need:
                yield groups[start : end + 1]
            if total >= need:
                break
    remaining = [sum(sizes[i:]) for i in range(len(sizes) + 1)]
    chosen: list[OpenGroup] = []

    def walk(i: int, left: int) -> Iterator[list[OpenGroup]]:
        if left == 0:
            yield list(chosen)
            return
        if i == len(groups) or remaining[i] < left:
            return
        if sizes[i] <= left:
            chosen.append(groups[i])
            yield from walk(i + 1, left - sizes[i])
            chosen.pop()
        yield from walk(i + 1, left)

    yield from walk(0, need)


def settle_open_days(conn: psycopg.Connection, kind: str, day: dt.date, count: int, digest: str) -> int | None:
    """Book the open-day records of ``kind`` on ``day`` or off it, from the platform's figures of ``day``.

    Returns:
        How many records moved to another day, or ``None`` when no open records could make the
        hub's side of ``day`` match (nothing is changed then).
    """
    groups: dict[str, OpenGroup] = {}
    for row_id, key, version, group, booked, days in conn.execute(
        "SELECT id, record_key, version, accepted_group, accepted_on, accepted_days FROM hub.push_outbox "
        "WHERE kind = %s AND status = 'delivered' AND accepted_days @> ARRAY[%s::date] ORDER BY id FOR UPDATE",
        (kind, day),
    ):
        g = groups.setdefault(group, OpenGroup(group, [], [], booked, sorted(days)))
        g.ids.append(row_id)
        g.lines.append(f"{key}:{version}")
    if not groups:
        return None
    certain = [
        f"{k}:{v}"
        for k, v in conn.execute(
            "SELECT record_key, version FROM hub.push_outbox WHERE kind = %s AND status = 'delivered' "
            "AND accepted_on = %s AND accepted_days IS NULL",
            (kind, day),
        )
    ]
    members = find_day_members(certain, list(groups.values()), day, count, digest)
    if members is None:
        return None
    on_day = {g.group for g in members}
    moved = 0
    ids, booked_on, open_days = [], [], []
    for g in groups.values():
        left = [] if g.group in on_day else [d for d in g.days if d != day]  # never empty: days has 2 or more
        if not left:
            new_day = day
        elif len(left) == 1 or g.booked == day:
            new_day = next((d for d in left if d > day), left[-1])  # the platform stores after we form: later first
        else:
            new_day = g.booked
        moved += len(g.ids) if new_day != g.booked else 0
        ids += g.ids
        booked_on += [new_day] * len(g.ids)
        open_days += ["{" + ",".join(d.isoformat() for d in left) + "}" if len(left) > 1 else None] * len(g.ids)
    conn.execute(
        "UPDATE hub.push_outbox o SET accepted_on = u.day, accepted_days = u.days::date[], "
        "accepted_group = CASE WHEN u.days IS NULL THEN NULL ELSE o.accepted_group END, updated_at = now() "
        "FROM unnest(%s::bigint[], %s::date[], %s::text[]) AS u(id, day, days) WHERE o.id = u.id",
        (ids, booked_on, open_days),
    )
    return moved


def reconcile(
    uri: str, client: ProvincialClient, day: dt.date, kinds: tuple[str, ...] = KINDS, requeue: bool = True
) -> dict[str, dict[str, Any]]:
    """Compare one day per kind: settle open days, then re-queue (or, on a recheck, alert) on a difference.

    Args:
        uri: The shared store.
        client: The platform client.
        day: The day (Asia/Shanghai) to compare.
        kinds: Which kinds.
        requeue: Re-queue the day's delivered rows on a difference; ``False`` for the recheck
            after such a resend, where a difference is persistent and raises an alert row.

    Returns:
        Per kind: ``matched``, ``rebooked`` when open-day records moved to another day and, when
        not matched, ``platform``/``hub`` counts and digests and ``requeued`` (or ``alert``).
    """
    out: dict[str, dict[str, Any]] = {}
    with connect(uri) as conn:
        for kind in kinds:
            theirs = client.reconciliation(kind, day.isoformat())
            their_count, their_digest = theirs.get("accepted", -1), theirs.get("digest", "")
            with conn.transaction():
                rebooked = settle_open_days(conn, kind, day, their_count, their_digest) or 0
                count, digest = hub_side(conn, kind, day)
                matched = their_count == count and their_digest == digest
                requeued = 0
                if not matched and requeue:
                    requeued = conn.execute(
                        "UPDATE hub.push_outbox SET status = 'pending', batch_id = NULL, batched_at = NULL, "
                        "result = NULL, updated_at = now() "
                        "WHERE kind = %s AND status = 'delivered' AND accepted_on = %s",
                        (kind, day),
                    ).rowcount
                conn.execute(
                    "INSERT INTO hub.push_reconciliation (kind, day, platform_count, platform_digest, hub_count,"
                    " hub_digest, matched, requeued, rebooked) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (kind, day, their_count, their_digest, count, digest, matched, requeued, rebooked),
                )
                if matched:
                    conn.execute(
                        "UPDATE hub.reconciliation_alert SET cleared_at = now() "
                        "WHERE kind = %s AND day = %s AND cleared_at IS NULL",
                        (kind, day),
                    )
                elif not requeue:
                    _raise_alert(conn, kind, day, their_count, count, their_digest == digest)
            entry: dict[str, Any] = {"day": day.isoformat(), "matched": matched}
            if rebooked:
                entry["rebooked"] = rebooked
            if not matched:
                entry |= {
                    "platform": {"accepted": theirs.get("accepted"), "digest": theirs.get("digest")},
                    "hub": {"accepted": count, "digest": digest},
                    "requeued": requeued,
                }
                if not requeue:
                    entry["alert"] = True
            out[kind] = entry
    return out


def _raise_alert(
    conn: psycopg.Connection, kind: str, day: dt.date, platform_count: int, hub_count: int, same_digest: bool
) -> None:
    """Keep one open alert per kind and day (a repeated recheck refreshes it)."""
    what = "the digests differ" if platform_count == hub_count and not same_digest else "the counts differ"
    message = (
        f"对账 {kind} {day.isoformat()}: the platform counts {platform_count} records, the hub {hub_count} "
        f"({what}) after the day was re-queued and resent"
    )
    conn.execute(
        "INSERT INTO hub.reconciliation_alert (kind, day, platform_count, hub_count, message) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, day) WHERE cleared_at IS NULL DO UPDATE SET "
        "platform_count = excluded.platform_count, hub_count = excluded.hub_count, message = excluded.message, "
        "last_seen_at = now()",
        (kind, day, platform_count, hub_count, message),
    )


def open_alerts(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Reconciliation alerts not cleared yet, newest first (for ``hub status``)."""
    return [
        {
            "kind": kind,
            "day": day.isoformat(),
            "platform_count": p,
            "hub_count": h,
            "message": message,
            "raised_at": raised.isoformat(),
            "last_seen_at": seen.isoformat(),
        }
        for kind, day, p, h, message, raised, seen in conn.execute(
            "SELECT kind, day, platform_count, hub_count, message, raised_at, last_seen_at "
            "FROM hub.reconciliation_alert WHERE cleared_at IS NULL ORDER BY raised_at DESC"
        )
    ]
