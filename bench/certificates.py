"""Benchmark of certificate derivation: SM2 signs and verifies a second, and certificates derived into the outbox.

Usage: ``python -m bench.certificates --certificates 20000`` (``make bench``). It starts its own
embedded PostgreSQL under ``bench/.work`` (or ``$HUB_HOME``), writes market entities and issued
social security cards in the city's proportion (400,000 licences to 1,500,000 cards) straight
into the shared tables, and derives their certificates (SM2-signed, with their outbox rows) end
to end. The SM2 paths are timed on their own first: the hub's (OpenSSL EVP, one thread and a
thread per core), the simulated platform's verifier and pure-Python gmssl (the old path); the
one-thread signs per CPU-second times the cores is the derive's ceiling. The
derive rate is extrapolated to the city's initial load of every licence and card. Writes
``bench/results/certificates-<certificates>.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from bench.measure import Measurement, run_main, start_store
from hub.cli_output import echo

RESULTS = Path(__file__).parent / "results"
CITY_LICENCES = 400_000
CITY_CARDS = 1_500_000
DERIVE = "derive certificates end to end (read, sign on every core, certificate + outbox rows)"
SIGN_CEILING = "ceiling: SM2 signs a second on every core (OpenSSL, one thread's signs per CPU-second x cores)"


MESSAGE = json.dumps(
    {
        "certificate_id": "1.2.156.3005.2.11100000MB0143028R001.11640100MB1720A11K.X.001.5",
        "face": {"名称": "宁夏塞上商贸1有限公司", "住所": "宁夏银川市兴庆区解放西街1号", "经营范围": "一般项目：商贸"},
        "holder_name": "宁夏塞上商贸1有限公司",
        "status": "VALID",
    },
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
).encode()


def _rate(label: str, n: int, fn: Callable[[], object]) -> Measurement:
    from bench.measure import measure

    cpu = time.process_time()
    with measure(label, n) as m:
        for _ in range(n):
            fn()
    m.extra = {"per_cpu_second": round(n / (time.process_time() - cpu))}
    return m


def sm2_rates(n: int) -> list[Measurement]:
    """Signs and verifies a second through each SM2 path, on one certificate-sized message."""
    from gmssl import func as gmssl_func
    from gmssl import sm2 as gmssl_sm2

    from bench.measure import measure
    from hub.push.signer import Sm2Signer, generate_sm2_keypair
    from simulators.province.crypto import Sm2Verifier

    private, public = generate_sm2_keypair()
    signer = Sm2Signer(private, public)
    signature = signer.sign(MESSAGE)
    raw_hex = base64.b64decode(signature).hex()
    verifier = Sm2Verifier(public)
    gm = gmssl_sm2.CryptSM2(private_key=private, public_key=public, mode=1)
    gm.public_key = public
    few = max(20, n // 50)
    rows = [
        _rate("hub SM2 sign (OpenSSL EVP, one thread)", n, lambda: signer.sign(MESSAGE)),
        _rate("hub SM2 verify (OpenSSL EVP, one thread)", n, lambda: signer.verify(MESSAGE, signature)),
        _rate(
            "simulator SM2 verify (GB/T 32918 over EC_POINT, fixed-base tables)",
            n,
            lambda: verifier.verify(MESSAGE, signature),
        ),
        _rate(
            "gmssl SM2 sign (pure Python, the old path)",
            few,
            lambda: gm.sign_with_sm3(MESSAGE, gmssl_func.random_hex(64)),
        ),
        _rate("gmssl SM2 verify (pure Python, the old path)", few, lambda: gm.verify_with_sm3(raw_hex, MESSAGE)),
    ]
    messages = [MESSAGE + str(i).encode() for i in range(2 * n)]
    cpus = os.cpu_count() or 1
    with measure(f"hub SM2 sign_many (a thread per core, {cpus} cpus)", len(messages)) as m:
        signatures = signer.sign_many(messages)
    signer.close()
    rows.append(m)
    with measure("simulator SM2 verify_many (a thread per core)", len(messages)) as m:
        verifier.verify_many(list(zip(messages, signatures, strict=True)))
    rows.append(m)
    ceiling = Measurement(SIGN_CEILING, n * cpus, n / rows[0].extra["per_cpu_second"])
    ceiling.extra = {"per_cpu_second": rows[0].extra["per_cpu_second"], "cpus": cpus}
    rows.append(ceiling)  # what every core signing and nothing else reaches: the derive's ceiling
    return rows


def cpu_seconds_with_children() -> float:
    """CPU seconds of this process and of its children that have ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def server_cpu_seconds(pgdata: Path) -> float:
    """CPU seconds the embedded PostgreSQL has used so far: postmaster, live backends and exited ones."""
    import psutil

    postmaster = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        try:
            c = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += c.user + c.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=20_000, help="licences + cards derived end to end")
    parser.add_argument("--sm2", type=int, default=3_000, help="signatures per SM2 rate measurement")
    args = parser.parse_args()
    from bench.measure import isolate

    isolate()

    import psycopg

    from bench.measure import measure, write_report
    from hub.push.certificates import derive_certificates
    from hub.push.signer import Sm2Signer, generate_sm2_keypair
    from hub.store import embedded
    from hub.store.migrate import migrate
    from simulators.database import reset_database
    from simulators.province import shared_rows

    sm2 = sm2_rates(args.sm2)
    licences = max(1, round(args.certificates * CITY_LICENCES / (CITY_LICENCES + CITY_CARDS)))
    cards = args.certificates - licences
    admin = start_store()
    store = reset_database(admin, "bench_certificates_store")
    migrate(store)
    shared_rows.insert_entities(store, licences)
    shared_rows.insert_cards(store, cards)
    signer = Sm2Signer(*generate_sm2_keypair())
    load = os.getloadavg()[0]
    pgdata = embedded.pgdata_dir()
    hub_cpu, db_cpu = cpu_seconds_with_children(), server_cpu_seconds(pgdata)
    with measure(DERIVE, args.certificates) as m:
        counts = derive_certificates(store, signer, "bench")
    hub_cpu, db_cpu = cpu_seconds_with_children() - hub_cpu, server_cpu_seconds(pgdata) - db_cpu
    with psycopg.connect(store) as conn:
        outbox = conn.execute("SELECT count(*) FROM hub.push_outbox WHERE kind = 'certificates'").fetchone()[0]
    if counts["new"] != args.certificates or outbox != args.certificates:
        raise SystemExit(f"derived {counts}, {outbox} outbox rows; expected {args.certificates}")
    city = CITY_LICENCES + CITY_CARDS
    cpus = os.cpu_count() or 1
    cpu_bound = cpus * args.certificates / (hub_cpu + db_cpu)  # every core busy with this and nothing else
    ceiling = sm2[-1].rows_per_second
    m.extra = {
        "licences": licences,
        "cards": cards,
        "load_average_before": round(load, 2),
        "cpu_seconds": {"hub": round(hub_cpu, 2), "postgres": round(db_cpu, 2)},
        "cpu_seconds_per_1000": round(1000 * (hub_cpu + db_cpu) / args.certificates, 3),
        "cpu_bound_rows_per_second": round(cpu_bound),
        "signing_ceiling_rows_per_second": round(ceiling),
        "ratio_to_signing_ceiling": round(m.rows_per_second / ceiling, 2),
        "cpu_bound_ratio_to_signing_ceiling": round(cpu_bound / ceiling, 2),
        "city_initial_load_minutes_extrapolated": round(city / m.rows_per_second / 60, 1),
        "city_initial_load_minutes_cpu_bound_extrapolated": round(city / cpu_bound / 60, 1),
    }
    echo(
        f"derive: {m.rows_per_second:,.0f}/s ({m.rows_per_second / ceiling:.2f} of the signing ceiling "
        f"{ceiling:,.0f}/s), {1000 * (hub_cpu + db_cpu) / args.certificates:.3f} CPU-s per 1,000 "
        f"(load {load:.1f}); city initial load extrapolated: {city / m.rows_per_second / 60:.1f} min "
        f"({city / cpu_bound / 60:.1f} min CPU-bound)"
    )
    embedded.stop()
    write_report(
        "certificates",
        args.certificates,
        [*sm2, m],
        RESULTS / f"certificates-{args.certificates}.json",
        note=f"the city's initial load is {city:,} certificates ({CITY_LICENCES:,} licences, {CITY_CARDS:,} cards); "
        "its minutes are EXTRAPOLATED linearly from this run's end-to-end rate, not measured at that size; the "
        "cpu-bound figures divide the run's CPU seconds (hub process with its signing threads, and PostgreSQL) "
        "into every core of the machine, what a quiet machine reaches; the signing ceiling is OpenSSL's SM2 signs "
        "per CPU-second in one thread times the cores",
    )


if __name__ == "__main__":
    run_main(main)
