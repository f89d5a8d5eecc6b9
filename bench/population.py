"""Benchmark of the 公安 population slice: extract, validate, load and end to end, against peers.

Usage: ``python -m bench.population --scale 1000000`` (``make bench``). It starts its own
embedded PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), generates the registry, and
writes ``bench/results/population-<scale>.json``. The peers load the same rows with pandas and, if
``requirements-bench.txt`` is installed, with dlt (merge, default and parquet file formats).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import dlt
    import pyarrow as pa

    from bench.measure import Measurement

RESULTS = Path(__file__).parent / "results"


def batches_of(rows: pa.Table, size: int = 250_000) -> list[pa.Table]:
    """``rows`` in the pipeline's batch size (``SqlTableSource.batch_rows``), as the loader receives them."""
    return [rows.slice(i, size) for i in range(0, rows.num_rows, size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1_000_000, help="persons")
    parser.add_argument("--seed", type=int, default=640100)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    run(args.scale, args.seed, peers=not args.skip_peers)


def run(persons: int, seed: int = 640100, *, peers: bool = True) -> dict:
    """Run the population benchmark at ``persons`` and write its JSON; return the report."""
    from bench.measure import isolate

    isolate()

    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import sqlalchemy

    from bench.measure import measure, write_report
    from connectors.connections import postgres_connection_json
    from connectors.sql_table import SqlTableSource
    from hub import registry
    from hub.pipeline import run_ingest
    from hub.store import embedded
    from hub.store.load import LoadTransaction
    from hub.store.migrate import migrate
    from quality.rules import validate
    from schemas.mappings.ga_population import MAPPING
    from simulators.database import reset_database
    from simulators.ga import population

    n = persons
    admin = embedded.start()
    sock = embedded.socket_dir_of(admin)
    source_uri = reset_database(admin, "bench_sim_ga")
    os.environ["AIRFLOW_CONN_GA_POPULATION"] = postgres_connection_json(sock, "bench_sim_ga")
    results = []

    with measure("generate source", n) as m:
        population.create(source_uri, n, seed)
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
    store_uri = reset_database(admin, "bench_store")
    migrate(store_uri)
    with measure("load: COPY into the empty keyed table (key rebuilt) + commit", rows.num_rows) as m:
        with LoadTransaction(
            store_uri, MAPPING.table, source="bench", batch_id="bench:1", direct_first_load=True
        ) as tx:
            for batch in batches_of(rows):
                tx.stage(batch)
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

    store_uri = reset_database(admin, "bench_store")
    migrate(store_uri)
    spec = registry.get("ga_population")
    from connectors.connections import get_connection

    get_connection(spec.conn_id)  # import Airflow's connection lookup outside the timing, as in a running task
    with measure("end to end: initial load (run_ingest)", n) as m:
        entry = run_ingest(spec, "bench-1", store=store_uri)
    m.extra = entry.counts()
    results.append(m)
    with adbc.connect(source_uri) as conn, conn.cursor() as cur:  # 10% of persons change address
        cur.execute('CREATE TABLE "T_RK_JBXX_10PCT" AS SELECT * FROM "T_RK_JBXX"')
        cur.execute(
            'UPDATE "T_RK_JBXX_10PCT" SET "HJDZ_XZ" = "HJDZ_XZ" || \'（新址）\', "GXSJ" = "GXSJ" + interval \'1 day\' '
            'WHERE abs(hashtext("GMSFHM")) % 10 = 0'
        )
        cur.execute('SELECT * FROM "T_RK_JBXX_10PCT"')
        changed_raw = cur.fetch_arrow_table()
        cur.execute('DROP TABLE "T_RK_JBXX_10PCT"')
        conn.commit()
    changed = MAPPING.apply(changed_raw)
    verdict = validate(MAPPING.table, changed.data, extra=changed.failures)
    keep = pa.array(~verdict.rejected)
    staged = changed.data.filter(keep).append_column("_ref", changed.refs.filter(keep).cast(pa.string()))
    with measure("merge: all rows staged, 10% changed, into the loaded table", staged.num_rows) as m:
        with LoadTransaction(store_uri, MAPPING.table, source="ga_population", batch_id="bench:merge") as tx:
            for batch in batches_of(staged):
                tx.stage(batch)
            counts = tx.merge()
        # leaving the block rolls the merge back, so the incremental run below starts from the loaded table
    m.extra = {"inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}
    results.append(m)
    change = population.apply_day(source_uri, 1, seed)
    with measure("end to end: one day of changes (run_ingest)", change.total) as m:
        entry = run_ingest(spec, "bench-2", store=store_uri)
    m.extra = entry.counts()
    results.append(m)

    if peers:
        import pandas as pd

        engine = sqlalchemy.create_engine(source_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer extract: pandas.read_sql", n) as m:
            frame = pd.read_sql('SELECT * FROM "T_RK_JBXX"', engine)
        results.append(m)
        store_engine = sqlalchemy.create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer load: pandas.to_sql (bare table)", len(frame)) as m:
            frame.to_sql("pandas_population", store_engine, if_exists="replace", index=False, chunksize=50_000)
        results.append(m)
        results.extend(dlt_peer_loads(rows.drop_columns(["_ref"]), store_uri))

    return write_report("population", n, results, RESULTS / f"population-{n}.json")


# dlt 1.31 loads PostgreSQL from insert_values files (its default), csv (COPY FROM STDIN), parquet (ADBC COPY,
# offered when adbc-driver-postgresql is installed, as it is here) or model (SQL models, not for data files).
# Measured are the default and the fastest, parquet; csv came between them (about 40k rows/s at 50k rows).
DLT_FILE_FORMATS = {"insert_values": "insert_values", "parquet": "parquet/ADBC COPY"}


def dlt_peer_loads(rows: pa.Table, store_uri: str) -> list[Measurement]:
    """Load ``rows`` with dlt, merging on ``id_number``, into a fresh dataset of the store per file format.

    dlt is a bench-only dependency (``requirements-bench.txt``); without it these peers are skipped with a note.
    Its working files, settings lookup and anonymous id go to ``$HUB_HOME/dlt``, removed afterwards.

    Args:
        rows: The mapped, valid rows ShareHub's own load measurement loads, without ``_ref``.
        store_uri: The store database's URI, as the embedded server gives it (unix socket in ``host``).

    Returns:
        One measurement per entry of ``DLT_FILE_FORMATS``.
    """
    work = Path(os.environ["HUB_HOME"]) / "dlt"
    shutil.rmtree(work, ignore_errors=True)  # no pipeline state left from an interrupted run
    try:
        dlt = _import_dlt(work)
    except ImportError:
        print("peer load: dlt skipped, not installed (pip install -r requirements-bench.txt -c constraints.txt)")
        return []
    destination = dlt.destinations.postgres(credentials=_dlt_credentials(store_uri))
    try:
        return [_dlt_merge(rows, destination, file_format, work) for file_format in DLT_FILE_FORMATS]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _import_dlt(work: Path) -> ModuleType:
    """Import dlt confined to ``work``: no telemetry, no Airflow Variables lookup, nothing in ``~/.dlt``.

    Args:
        work: The directory for dlt's pipelines, settings and global files.

    Returns:
        The ``dlt`` module.

    Raises:
        ImportError: dlt is not installed.
    """
    os.environ["DLT_DATA_DIR"] = str(work)  # pipelines' working directories
    os.environ["DLT_PROJECT_DIR"] = str(work)  # .dlt settings looked up here, not in the current directory
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["PROVIDERS__ENABLE_AIRFLOW_SECRETS"] = "false"  # else dlt reads Airflow Variables from its database
    import dlt
    from dlt.common.runtime import run_context

    # dlt writes an anonymous id to its global dir (/var/dlt as root, else ~/.dlt) even with telemetry off
    run_context.active()._global_dir = str(work)
    return dlt


def _dlt_merge(rows: pa.Table, destination: dlt.destinations.postgres, file_format: str, work: Path) -> Measurement:
    """Measure one dlt merge of ``rows`` into an empty table keyed on ``id_number``.

    Args:
        rows: The rows to load.
        destination: dlt's PostgreSQL destination for the store.
        file_format: The loader file format, a key of ``DLT_FILE_FORMATS``.
        work: dlt's working directory; the pipelines go under it.

    Returns:
        The measurement, with the rows the table holds afterwards.
    """
    import dlt

    from bench.measure import measure

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{file_format}",
        pipelines_dir=str(work / "pipelines"),
        destination=destination,
        dataset_name=f"dlt_{file_format}",
    )
    with measure(f"peer load: dlt merge ({DLT_FILE_FORMATS[file_format]})", rows.num_rows) as m:
        pipeline.run(
            rows,
            table_name="population",
            write_disposition="merge",
            primary_key="id_number",
            columns={"id_number": {"unique": True}},  # dlt's PostgreSQL makes only this hint a constraint
            loader_file_format=file_format,
        )
    m.extra = {"dataset": pipeline.dataset_name, "rows_in_table": _dlt_table_rows(pipeline)}
    return m


def _dlt_credentials(store_uri: str) -> str:
    """The store URI as dlt's PostgreSQL credentials take it: a host, and the socket directory as libpq's ``host``.

    Args:
        store_uri: An embedded server URI such as ``postgresql://postgres:@/bench_store?host=/dir``.

    Returns:
        ``postgresql://postgres:@localhost/bench_store?host=/dir``; libpq connects to the socket in ``/dir``.
    """
    parts = urlsplit(store_uri)
    return f"postgresql://{parts.username}:@localhost{parts.path}?{parts.query}"


def _dlt_table_rows(pipeline: dlt.Pipeline) -> int:
    """Rows in the pipeline's ``population`` table, counted in the store.

    Args:
        pipeline: A dlt pipeline that has run.

    Returns:
        The table's row count.
    """
    with pipeline.sql_client() as client:
        return client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name('population')}")[0][0]


if __name__ == "__main__":
    main()
