"""Benchmark of the efficiency indicators: full recompute, a daily run, and a late batch.

Usage: ``python -m bench.efficiency --cases-per-day 2000 --days 90`` (about 1/10 of the city's
case volume over a quarter). Starts its own embedded PostgreSQL under ``bench/.work`` (or
``$HUB_HOME``), generates steps straight into ``shared.service_case_step`` and writes
``bench/results/efficiency-<cases>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
from pathlib import Path

from bench.measure import run_main, start_store
from hub.cli_output import echo

RESULTS = Path(__file__).parent / "results"
START = dt.date(2026, 7, 1)

# Deterministic pseudo-random steps: c is the case number, h a hash of it in 0..99.
GENERATE = """
INSERT INTO shared.service_case_step (step_no, case_no, item_code, item_name, applicant_type, dept_code, dept_name,
    channel, step, step_at, promised_days, result, satisfaction, source_updated_at, source_system, batch_id,
    loaded_at, record_hash)
SELECT row_number() OVER () + %(offset)s::bigint, 'C' || c, 'ITEM' || (c %% 40), '事项' || (c %% 40), 'PERSON',
       'DEPT' || (c %% 12), '部门' || (c %% 12), ch, st, at, 1 + (c %% 7), CASE WHEN st = 'BJ' THEN 'APPROVED' END,
       sat, at, 'bench', %(batch)s, now(), md5(c::text || st)
FROM (SELECT c, (c * 7919) %% 100 AS h,
             %(start)s::timestamptz + ((c - 1) / %(per_day)s::bigint) * interval '1 day' AS t0
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS c) x
CROSS JOIN LATERAL (VALUES
    ('SQ', t0 + interval '9 hours', CASE WHEN h < 60 THEN 'WEB' ELSE 'WINDOW' END, NULL::bigint),
    ('SL', t0 + interval '10 hours', CASE WHEN h < 50 THEN 'WEB' ELSE 'WINDOW' END, NULL),
    ('BJ', t0 + ((h %% 9) || ' days')::interval + interval '15 hours', CASE WHEN h < 40 THEN 'MOBILE' ELSE 'WINDOW' END,
     CASE WHEN h %% 3 = 0 THEN 1 + h %% 5 END)
) AS s(st, at, ch, sat)
WHERE (st <> 'BJ' OR h < 85) AND at >= %(since)s::timestamptz AND at < %(until)s::timestamptz
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases-per-day", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import psycopg

    from bench.measure import measure
    from hub.efficiency.compute import recompute
    from hub.store.migrate import migrate
    from simulators.database import reset_database

    uri = reset_database(start_store(), "bench_efficiency")
    migrate(uri)
    per_day, days = args.cases_per_day, args.days
    cases = per_day * days
    last_day = START + dt.timedelta(days=days - 1)

    def generate(last: int, batch: str, since: dt.date, until: dt.date, offset: int) -> int:
        """Steps of cases 1..last dated in [since, until), numbered after ``offset``."""
        with psycopg.connect(uri) as conn:
            params = {"first": 1, "last": last, "batch": batch, "start": START, "per_day": per_day}
            return conn.execute(GENERATE, {**params, "since": since, "until": until, "offset": offset}).rowcount

    results = []
    with measure("generate steps", cases) as m:
        steps = generate(cases, "bench:initial", START, last_day + dt.timedelta(days=1), 0)
    m.extra["steps"] = steps
    results.append(m)
    with measure("full recompute", steps) as m:
        r = recompute(uri, last_day, full=True)
    m.extra.update(days_written=len(r.affected_days), rows_written=r.rows_written)
    results.append(m)
    # The next day: one more day of cases, and the steps of earlier cases dated that day.
    next_day = last_day + dt.timedelta(days=1)
    new = generate(cases + per_day, "bench:day", next_day, next_day + dt.timedelta(days=1), steps)
    with measure("daily run (one new day of cases)", new) as m:
        r = recompute(uri, next_day)
    m.extra.update(changed_cases=r.changed_cases, days_written=len(r.affected_days), rows_written=r.rows_written)
    results.append(m)
    # A late batch: 1% of the quarter's cases get a late evaluation row.
    with psycopg.connect(uri) as conn:
        late = conn.execute(
            "INSERT INTO shared.service_case_step SELECT step_no + 10000000, case_no, item_code, item_name, "
            "applicant_type, applicant_name, applicant_id, dept_code, dept_name, channel, step, step_at + interval "
            "'1 day', promised_days, result, 5, source_updated_at, quality_flags, source_system, 'bench:late', now(), "
            "record_hash "
            "FROM shared.service_case_step WHERE step = 'BJ' AND step_no % 100 = 0"
        ).rowcount
    with measure("late batch (1% of cases re-evaluated)", late) as m:
        r = recompute(uri, next_day)
    m.extra.update(changed_cases=r.changed_cases, days_written=len(r.affected_days), rows_written=r.rows_written)
    results.append(m)
    with measure("re-run (nothing new)", 0) as m:
        r = recompute(uri, next_day)
    m.extra.update(changed_cases=r.changed_cases, days_written=len(r.affected_days))
    results.append(m)

    report = {
        "benchmark": "efficiency",
        "cases": cases,
        "days": days,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "note": "shared 2-core machine"},
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stages": [m.to_json() for m in results],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"efficiency-{cases}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for m in results:
        echo(json.dumps(m.to_json(), ensure_ascii=False))


if __name__ == "__main__":
    run_main(main)
