"""Benchmark of the 公安 population slice: extract, validate, load and end to end, against peers.

Usage: ``python -m bench.population --scale 1000000`` (``make bench``). It starts its own
embedded PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), generates the registry, and
writes ``bench/results/population-<scale>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=640100)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HUB_HOME", str(Path(__file__).parent / ".work"))
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        del os.environ[key]

    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import sqlalchemy

    from bench.measure import measure, write_report
    from connectors.connections import postgres_connection_json
    from connectors.sql_table import SqlTableSource
    from hub import registry
    from hub.demo import _reset_database
    from hub.pipeline import run_ingest
    from hub.store import embedded
    from hub.store.load import LoadTransaction
    from hub.store.migrate import migrate
    from quality.rules import validate
    from schemas.mappings.ga_population import MAPPING
    from simulators.ga import population

    n = args.scale
    admin = embedded.start()
    sock = embedded.socket_dir_of(admin)
    source_uri = _reset_database(admin, "bench_sim_ga")
    os.environ["AIRFLOW_CONN_GA_POPULATION"] = postgres_connection_json(sock, "bench_sim_ga")
    results = []

    with measure("generate source", n) as m:
        population.create(source_uri, n, args.seed)
    results.append(m)

    source = SqlTableSource("ga_population", source_uri, "T_RK_JBXX", "GXSJ", "GMSFHM", batch_rows=n)
    with measure("extract: ShareHub SqlTableSource (ADBC, keyset order)", n) as m:
        raw = pa.concat_tables([b.data for b in source.read(None)])
    results.append(m)
    with measure("extract: ceiling, ADBC SELECT * into Arrow", n) as m:
        with adbc.connect(source_uri) as conn, conn.cursor() as cur:
            cur.execute('SELECT * FROM "T_RK_JBXX"')
            cur.fetch_arrow_table()
    results.append(m)

    with measure("map (normalise, code tables, types)", n) as m:
        mapped = MAPPING.apply(raw)
    results.append(m)
    with measure("validate (all population rules)", n) as m:
        verdict = validate(MAPPING.table, mapped.data, extra=mapped.failures)
        rejected = verdict.rejected
    results.append(m)
    from quality import identity

    with measure("validate: identity numbers only (GB 11643 check)", n) as m:
        identity.check(mapped.data["id_number"])
    results.append(m)

    keep = pa.array(~rejected)
    rows = mapped.data.filter(keep).append_column("_ref", mapped.refs.filter(keep).cast(pa.string()))
    store_uri = _reset_database(admin, "bench_store")
    migrate(store_uri)
    with measure("load: staging COPY + MERGE into empty keyed table + commit", rows.num_rows) as m:
        with LoadTransaction(store_uri, MAPPING.table, source="bench", batch_id="bench:1") as tx:
            tx.stage(rows)
            counts = tx.merge()
            tx.finish(
                run_id="1",
                started_at=dt.datetime.now(dt.UTC),
                extracted=rows.num_rows,
                counts={
                    "inserted": counts.inserted,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "quarantined": 0,
                },
                cursor_from=None,
                cursor_to=None,
                move_cursor=False,
                drift=[],
                rule_counts={},
            )
    results.append(m)
    with measure("load: ceiling, ADBC COPY into a bare unindexed table", rows.num_rows) as m:
        with adbc.connect(store_uri) as conn, conn.cursor() as cur:
            cur.adbc_ingest("bare_population", rows, mode="create")
            conn.commit()
    results.append(m)

    store_uri = _reset_database(admin, "bench_store")
    migrate(store_uri)
    spec = registry.get("ga_population")
    with measure("end to end: initial load (run_ingest)", n) as m:
        entry = run_ingest(spec, "bench-1", store=store_uri)
    m.extra = entry.counts()
    results.append(m)
    change = population.apply_day(source_uri, 1, args.seed)
    with measure("end to end: one day of changes (run_ingest)", change.total) as m:
        entry = run_ingest(spec, "bench-2", store=store_uri)
    m.extra = entry.counts()
    results.append(m)

    if not args.skip_peers:
        import pandas as pd

        engine = sqlalchemy.create_engine(source_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer extract: pandas.read_sql", n) as m:
            frame = pd.read_sql('SELECT * FROM "T_RK_JBXX"', engine)
        results.append(m)
        store_engine = sqlalchemy.create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer load: pandas.to_sql (bare table)", len(frame)) as m:
            frame.to_sql("pandas_population", store_engine, if_exists="replace", index=False, chunksize=50_000)
        results.append(m)

    write_report("population", n, results, RESULTS)


if __name__ == "__main__":
    main()
