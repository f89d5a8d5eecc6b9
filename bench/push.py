"""Benchmark of the provincial push: records a second delivered to the simulated platform.

Usage: ``python -m bench.push --cases 20000 --certificates 1000 --single 100``. It starts its own embedded
PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), writes rows straight into the shared tables,
derives the versions and pushes them to the simulator (a child process) twice: with the quota
lifted and with the city's 20 requests a second quota (at 500 records a batch, the platform's
largest, a ceiling of 10,000 records a second). The simulator verifies every certificate's SM2
signature with its own verifier; the CPU seconds of the hub, the simulator and PostgreSQL are
recorded with each certificate push. Writes ``bench/results/push-<cases>.json``.
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
QUOTA_CEILING = 10_000  # records a second: 20 requests of 500 records


def _cpu_seconds(pgdata: Path) -> dict[str, float]:
    """CPU seconds used so far by this process (the hub), the simulator child and the embedded PostgreSQL."""
    import time

    import psutil

    from bench.certificates import server_cpu_seconds

    simulator = 0.0
    for child in psutil.Process().children():
        if "simulators.province.server" in " ".join(child.cmdline()):
            t = child.cpu_times()
            simulator += t.user + t.system
    return {"hub": time.process_time(), "simulator": simulator, "postgres": server_cpu_seconds(pgdata)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--certificates", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=100, help="records sent one POST each (the peer)")
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import psycopg

    from bench.measure import measure
    from hub.push.cases import derive_cases
    from hub.push.certificates import derive_certificates
    from hub.push.outbox import push
    from hub.push.provincial_client import ClientSettings, ProvincialClient
    from hub.push.signer import Sm2Signer
    from hub.store import embedded
    from hub.store.migrate import migrate
    from simulators.database import reset_database
    from simulators.province import shared_rows
    from simulators.province.faults import FaultConfig
    from simulators.province.provision import provision

    admin = start_store()
    store = reset_database(admin, "bench_push_store")
    migrate(store)
    results = []
    shared_rows.insert_cases(store, args.cases)
    shared_rows.insert_entities(store, args.certificates)
    with measure("derive case record versions (+ outbox)", args.cases) as m:
        derive_cases(store)
    results.append(m.to_json())

    def requeue() -> None:
        with psycopg.connect(store) as conn:
            conn.execute(
                "UPDATE hub.push_outbox SET status = 'pending', batch_id = NULL, batched_at = NULL, result = NULL,"
                " accepted_on = NULL"
            )
            conn.execute("TRUNCATE hub.push_attempt")

    for label, quota in (("quota lifted", 0), ("20 requests/s quota", 20)):
        sim = provision(admin, "bench_sim_province", FaultConfig(quota_rps=quota))
        conn_json = json.loads(sim.env["AIRFLOW_CONN_PROVINCIAL_PLATFORM"])
        if quota:
            signer_json = json.loads(sim.env["AIRFLOW_CONN_CERTIFICATE_SIGNER"])
            signer = Sm2Signer(signer_json["password"], signer_json["extra"]["public_key"])
        client = ProvincialClient(
            ClientSettings(sim.url, conn_json["login"], conn_json["password"], rate_limit=quota, timeout=60)
        )
        requeue()
        try:
            with measure(f"push cases, {label}", args.cases) as m:
                report = push(store, client, kinds=("cases",))
            m.extra = {"client": dict(client.stats), "accepted": report.counts["cases"]["accepted"]}
            results.append(m.to_json())
            if quota:
                with psycopg.connect(store) as conn:
                    payloads = [
                        r[0]
                        for r in conn.execute(
                            "SELECT payload FROM hub.push_outbox WHERE kind = 'cases' ORDER BY id LIMIT %s",
                            (args.single,),
                        )
                    ]
                with measure("peer: one POST per record (sequential), 20 requests/s quota", len(payloads)) as m:
                    for i, payload in enumerate(payloads):
                        client.send_batch("cases", f"single-{i}", [payload])
                results.append(m.to_json())
                load = os.getloadavg()[0]
                with measure("derive certificates (SM2 signing on every core, + outbox)", args.certificates) as m:
                    derive_certificates(store, signer, "bench")
                    signer.close()
                results.append(m.to_json())
                cpu = _cpu_seconds(embedded.pgdata_dir())
                with measure(
                    f"push certificates (platform verifies every SM2 signature), {label}", args.certificates
                ) as m:
                    report = push(store, client, kinds=("certificates",))
                cpu = {k: round(v - cpu[k], 2) for k, v in _cpu_seconds(embedded.pgdata_dir()).items()}
                m.extra = {
                    "client": dict(client.stats),
                    "accepted": report.counts["certificates"]["accepted"],
                    "load_average_before": round(load, 2),
                    "cpu_seconds": cpu,
                    "cpu_seconds_per_1000": round(1000 * sum(cpu.values()) / args.certificates, 3),
                    # every core busy with this push and nothing else, the quota's ceiling aside
                    "cpu_bound_rows_per_second": round((os.cpu_count() or 1) * args.certificates / sum(cpu.values())),
                    "quota_ceiling_rows_per_second": QUOTA_CEILING,
                    "ratio_to_quota_ceiling": round(m.rows_per_second / QUOTA_CEILING, 2),
                }
                if report.counts["certificates"]["accepted"] != args.certificates:
                    raise SystemExit(f"the platform accepted {report.counts['certificates']} certificates")
                results.append(m.to_json())
        finally:
            client.close()
            sim.stop()
    out = {
        "benchmark": "push",
        "scale": {"cases": args.cases, "certificates": args.certificates},
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "note": "the simulator runs as a child process; ShareHub sends batches of 500, 4 in flight",
        "results": results,
    }
    embedded.stop()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"push-{args.cases}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    for r in results:
        share = r.get("ratio_to_quota_ceiling")
        ratio = f" ({share} of the quota's {QUOTA_CEILING:,}/s)" if share is not None else ""
        echo(f"{r['name']}: {r['rows']:,} in {r['seconds']} s = {r['rows_per_second']:,}/s{ratio}")
    echo(f"written {path}")


if __name__ == "__main__":
    run_main(main)
