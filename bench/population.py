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
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bench.measure import run_main

if TYPE_CHECKING:
    import dlt
    import pyarrow as pa

    from bench.measure import Measurement
    from schemas.model import Table

RESULTS = Path(__file__).parent / "results"


def batches_of(rows: pa.Table, size: int = 250_000) -> list[pa.Table]:
    """``rows`` in the pipeline's batch size (``SqlTableSource.batch_rows``), as the loader receives them."""
    return [rows.slice(i, size) for i in range(0, rows.num_rows, size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1_000_000, help="persons")
    parser.add_argument("--seed", type=int, default=640100)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="leave out the quality_check and GX stages")
    args = parser.parse_args()
    run(args.scale, args.seed, peers=not args.skip_peers, quality=not args.skip_quality)


def run(persons: int, seed: int = 640100, *, peers: bool = True, quality: bool = True) -> dict:
    """Run the population benchmark at ``persons`` and write its JSON; return the report."""
    from bench.measure import isolate, start_store

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
    admin = start_store()
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
    from schemas.standards import identity

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
                counts=counts.ledger_counts(),
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
    initial_seconds = m.seconds
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
    results.append(gx_import_measurement(initial_seconds))
    if quality:
        results.append(quality_measurement(store_uri, entry.batch_id, initial_seconds, "after the initial load"))
    # our merge runs in a copy of the loaded store and commits, so the incremental run below starts from the load
    merge_uri = clone_database(admin, "bench_store", "bench_merge")
    results.append(merge_committed(merge_uri, MAPPING.table, staged))
    drop_database(admin, "bench_merge")
    change = population.apply_day(source_uri, 1, seed)
    with measure("end to end: one day of changes (run_ingest)", change.total) as m:
        entry = run_ingest(spec, "bench-2", store=store_uri)
    m.extra = entry.counts()
    results.append(m)
    if quality:
        results.append(quality_measurement(store_uri, entry.batch_id, initial_seconds, "after one day of changes"))
        results.append(daily_validation_measurement(store_uri))

    if peers:
        import pandas as pd

        with adbc.connect(source_uri) as conn:
            with measure("peer extract: pandas.read_sql (ADBC connection)", n) as m:
                frame = pd.read_sql('SELECT * FROM "T_RK_JBXX"', conn)
        results.append(m)
        engine = sqlalchemy.create_engine(source_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer extract: pandas.read_sql (default: SQLAlchemy engine)", n) as m:
            frame = pd.read_sql('SELECT * FROM "T_RK_JBXX"', engine)
        results.append(m)
        results.append(pandas_copy_load(admin, MAPPING.table, rows.drop_columns(["_ref"])))
        store_engine = sqlalchemy.create_engine(store_uri.replace("postgresql://", "postgresql+psycopg://", 1))
        with measure("peer load: pandas.to_sql (default: INSERT, unmapped rows, unkeyed table)", len(frame)) as m:
            frame.to_sql("pandas_population", store_engine, if_exists="replace", index=False, chunksize=50_000)
        results.append(m)
        results.extend(dlt_peer_loads(rows.drop_columns(["_ref"]), staged.drop_columns(["_ref"]), store_uri))

    return write_report("population", n, results, RESULTS / f"population-{n}.json")


def clone_database(admin: str, source: str, clone: str) -> str:
    """A copy of database ``source`` as ``clone``; return the clone's URI.

    Sessions still open on ``source`` (GX's pooled connections) are ended first: a template must be idle.
    """
    import psycopg
    from psycopg import sql

    from hub.store.embedded import database_uri

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (source,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(clone)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(clone), sql.Identifier(source)))
    return database_uri(admin, clone)


def drop_database(admin: str, name: str) -> None:
    """Drop a scratch database of the benchmark."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def merge_committed(store_uri: str, table: Table, staged: pa.Table) -> Measurement:
    """Our merge of ``staged`` (all rows, 10% changed) into the loaded ``table``, its ledger row and commit, timed."""
    from bench.measure import measure
    from hub.store.load import LoadTransaction

    with measure("merge: all rows staged, 10% changed, into the loaded table + commit", staged.num_rows) as m:
        # as run_ingest loads a mapping without derived tables: new and changed rows staged, the rest counted
        with LoadTransaction(
            store_uri, table, source="ga_population", batch_id="bench:merge", direct_first_load=True
        ) as tx:
            for batch in batches_of(staged):
                tx.stage(batch)
            counts = tx.merge()
            tx.finish(
                run_id="merge",
                started_at=dt.datetime.now(dt.UTC),
                extracted=staged.num_rows,
                counts=counts.ledger_counts(),
                cursor_from=None,
                cursor_to=None,
                move_cursor=False,
                drift=[],
                rule_counts={},
            )
    m.extra = {"inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}
    return m


def gx_import_measurement(ingest_seconds: float) -> Measurement:
    """Time importing Great Expectations: the fixed cost a task process pays once, on its first check.

    Measured on its own so the ``quality_check`` rows after it show the cost of a check in a
    process that has GX loaded (a worker's second check, or a task after the import).

    Raises:
        RuntimeError: if GX is imported already (the row would time nothing).
    """
    import sys

    from bench.measure import measure
    from bench.report import GX_IMPORT

    if "great_expectations" in sys.modules:
        raise RuntimeError("great_expectations is imported already: its import cannot be timed here")
    with measure(GX_IMPORT) as m:
        import great_expectations  # noqa: F401
    m.extra = {"share_of_initial_load": round(m.seconds / ingest_seconds, 3)}
    return m


def quality_measurement(store_uri: str, batch_id: str, ingest_seconds: float, when: str) -> Measurement:
    """Time the ``quality_check`` task body for ``batch_id`` (findings + GX on the batch's rows).

    GX is imported already (:func:`gx_import_measurement`); its in-memory context is built by the
    first check and reused by the next. ``extra`` carries the time as a share of the initial
    load's ``run_ingest``.
    """
    from bench.measure import measure
    from hub.quality_tasks import quality_check

    with measure(f"quality_check {when} (findings + GX on the batch's rows)") as m:
        out = quality_check("ga_population", "shared.population", batch_id, store=store_uri)
    m.rows = int(out["rows_validated"] or 0)
    m.extra = {"share_of_initial_load": round(m.seconds / ingest_seconds, 3)}
    return m


def daily_validation_measurement(store_uri: str) -> Measurement:
    """Time the whole-table GX validation of shared.population (what every quality_check ran before, now daily)."""
    from bench.measure import measure
    from hub.settings import hub_home
    from quality import gx_suites
    from schemas.tables import TABLES

    with measure("quality: whole-table GX validation (daily; before: every quality_check)") as m:
        (suite,) = gx_suites.run(store_uri, [TABLES["shared.population"]], home=hub_home()).suites
    m.rows = suite.rows or 0
    return m


def pandas_copy_load(admin: str, table: Table, rows: pa.Table) -> Measurement:
    """pandas at its best: ``to_sql`` with a COPY method into the same keyed table, in a fresh migrated store.

    The frame (the mapped, valid rows) gets the lineage columns our load writes (source, batch,
    load time and a row digest, here pandas' own ``hash_pandas_object``) inside the timing; the
    Arrow-to-pandas conversion is outside it (a pandas user holds a frame already). The COPY
    method is pandas' documented one (rows written as CSV into COPY FROM STDIN).
    """
    import pandas as pd
    import pyarrow as pa

    from bench.measure import measure
    from hub.store.migrate import migrate
    from simulators.database import reset_database

    uri = reset_database(admin, "bench_pandas")
    migrate(uri)
    import sqlalchemy

    from hub.store.page_order import DIGEST_COLUMN, Digester, has_personal_key

    engine = sqlalchemy.create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    frame = rows.to_pandas()
    hashed = [c for c in table.business_columns if c != table.order_by]
    with measure("peer load: pandas.to_sql (COPY method) into the same keyed table + commit", len(frame)) as m:
        frame = frame.assign(
            source_system="bench",
            batch_id="bench:pandas",
            loaded_at=pd.Timestamp.now(tz="UTC"),
            record_hash=pd.util.hash_pandas_object(frame[hashed], index=False).astype("string"),
        )
        if has_personal_key(table):  # the table's paging digest, which a writer supplies (hub.store.page_order)
            with engine.connect() as conn:
                digester = Digester.read(table, conn.connection.cursor())
            digests = digester.digests(pa.Table.from_pandas(frame[list(table.key)], preserve_index=False))
            frame[DIGEST_COLUMN] = ["\\x" + d.hex() for d in digests.to_pylist()]  # bytea's hex input in CSV
        frame.to_sql(table.name, engine, schema=table.schema, if_exists="append", index=False, method=_psql_insert_copy)
    with engine.connect() as conn:
        m.extra = {"rows_in_table": conn.exec_driver_sql(f"SELECT count(*) FROM {table.qualified_name}").scalar()}
    engine.dispose()
    drop_database(admin, "bench_pandas")
    return m


def _psql_insert_copy(pd_table: object, conn: object, keys: list[str], data_iter: object) -> int:
    """pandas' documented COPY insertion method (``to_sql(method=...)``), for psycopg 3's ``cursor.copy``."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(data_iter)  # type: ignore[arg-type]
    columns = ", ".join(f'"{k}"' for k in keys)
    name = f"{pd_table.schema}.{pd_table.name}" if pd_table.schema else pd_table.name  # type: ignore[attr-defined]
    with conn.connection.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN WITH CSV") as copy:  # type: ignore[attr-defined]
        copy.write(buffer.getvalue())
    return buffer.tell()


# dlt 1.31 loads PostgreSQL from insert_values files (its default), csv (COPY FROM STDIN), parquet (ADBC COPY,
# offered when adbc-driver-postgresql is installed, as it is here) or model (SQL models, not for data files).
# Measured are the default and the fastest, parquet; csv came between them (about 40k rows/s at 50k rows).
DLT_FILE_FORMATS = {"insert_values": "insert_values", "parquet": "parquet/ADBC COPY"}
DLT_DEFAULT_MAX_ROWS = 1_000_000
"""Above this, dlt's default ``insert_values`` (an extra row, not the best peer) is left out: at 3M rows
its load and merge took over 8 minutes on a quiet machine, a third of the whole suite."""


def dlt_peer_loads(rows: pa.Table, changed: pa.Table, store_uri: str) -> list[Measurement]:
    """Load ``rows`` with dlt, then merge ``changed`` into them, on ``id_number``, in a fresh dataset per file format.

    dlt is a bench-only dependency (``requirements-bench.txt``); without it these peers are skipped with a note.
    Its working files, settings lookup and anonymous id go to ``$HUB_HOME/dlt``, removed afterwards.

    Args:
        rows: The mapped, valid rows ShareHub's own load measurement loads, without ``_ref``.
        changed: The same rows, 10% changed, as ShareHub's merge measurement stages them, without ``_ref``.
        store_uri: The store database's URI, as the embedded server gives it (unix socket in ``host``).

    Returns:
        Two measurements (into the empty table, then the merge of the changed rows) per ``DLT_FILE_FORMATS``
        entry (``insert_values`` only up to :data:`DLT_DEFAULT_MAX_ROWS` rows).
    """
    work = Path(os.environ["HUB_HOME"]) / "dlt"
    shutil.rmtree(work, ignore_errors=True)  # no pipeline state left from an interrupted run
    try:
        dlt = _import_dlt(work)
    except ImportError:
        print("peer load: dlt skipped, not installed (pip install -r requirements-bench.txt -c constraints.txt)")
        return []
    destination = dlt.destinations.postgres(credentials=_dlt_credentials(store_uri))
    formats = [f for f in DLT_FILE_FORMATS if f != "insert_values" or rows.num_rows <= DLT_DEFAULT_MAX_ROWS]
    if len(formats) < len(DLT_FILE_FORMATS):
        print(f"peer load: dlt insert_values (default) left out above {DLT_DEFAULT_MAX_ROWS:,} rows", file=sys.stderr)
    try:
        return [m for file_format in formats for m in _dlt_merge(rows, changed, destination, file_format, work)]
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


def _dlt_merge(
    rows: pa.Table, changed: pa.Table, destination: dlt.destinations.postgres, file_format: str, work: Path
) -> list[Measurement]:
    """Measure a dlt merge of ``rows`` into an empty table keyed on ``id_number``, then of ``changed`` into it.

    Args:
        rows: The rows to load.
        changed: The rows again, 10% of them changed.
        destination: dlt's PostgreSQL destination for the store.
        file_format: The loader file format, a key of ``DLT_FILE_FORMATS``.
        work: dlt's working directory; the pipelines go under it.

    Returns:
        The two measurements, each with the rows the table holds afterwards.
    """
    import dlt

    from bench.measure import measure

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{file_format}",
        pipelines_dir=str(work / "pipelines"),
        destination=destination,
        dataset_name=f"dlt_{file_format}",
    )
    label = DLT_FILE_FORMATS[file_format]
    out = []
    for name, data in (
        (f"peer load: dlt merge into the empty table ({label})", rows),
        (f"peer merge: dlt merge, 10% changed, into the loaded table ({label})", changed),
    ):
        with measure(name, data.num_rows) as m:
            pipeline.run(
                data,
                table_name="population",
                write_disposition="merge",
                primary_key="id_number",
                columns={"id_number": {"unique": True}},  # dlt's PostgreSQL makes only this hint a constraint
                loader_file_format=file_format,
            )
        m.extra = {"dataset": pipeline.dataset_name, "rows_in_table": _dlt_table_rows(pipeline)}
        out.append(m)
    return out


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
    run_main(main)
