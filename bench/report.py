"""The README's benchmark tables from ``bench/results/``: ShareHub against peers and ceilings, and scaling.

Usage: ``python -m bench.report 0.1 1.0`` reads ``suite-0.1.json`` and ``suite-1.json`` (written by
``make bench SCALE=...``), the result files they list, and prints Markdown: ShareHub's stages
against their best peer and their ceiling at the largest scale (the slower default
configurations of the peers as extra rows), the quality stages' share of the initial load,
and per stage the rows a second at each scale and their ratio (1.0 means the stage scales
linearly). ``--readme README.md`` rewrites those tables in the README's ``<!-- bench:... -->`` blocks.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
PLATFORM_QUOTA = 10_000  # records a second: 20 requests of 500 records (provincial-platform.md)
COPY_CEILING = "load: ceiling, ADBC COPY into a bare unindexed table"
EXTRACT_CEILING = "extract: ceiling, ADBC SELECT * into Arrow"
SIGN_CEILING = "ceiling: SM2 signs a second on every core (OpenSSL, one thread's signs per CPU-second x cores)"
Ceiling = str | int | tuple[str, ...] | None
"""A stage's ceiling: a measured stage, a fixed rate, stages run one after the other (their times add), or none."""
PEERS: list[tuple[str, str, list[str], Ceiling]] = [
    # (benchmark, ShareHub stage, peer stages (best first or not: the fastest measured is "best"), ceiling)
    (
        "population",
        "extract: ShareHub SqlTableSource (ADBC, keyset order)",
        [
            "peer extract: pandas.read_sql (ADBC connection)",
            "peer extract: pandas.read_sql (default: SQLAlchemy engine)",
            "peer extract: pandas.read_sql",  # results written before 2026-11-29
        ],
        EXTRACT_CEILING,
    ),
    ("rules", "vectorised", ["python_loop", "gx_pandas"], None),
    ("population", "validate: identity numbers only (GB 11643 check)", [], None),
    (
        "population",
        "load: COPY into the empty keyed table (key rebuilt) + commit",
        [
            "peer load: pandas.to_sql (COPY method) into the same keyed table + commit",
            "peer load: dlt merge into the empty table (parquet/ADBC COPY)",
            "peer load: dlt merge into the empty table (insert_values)",
            "peer load: pandas.to_sql (default: INSERT, unmapped rows, unkeyed table)",
            "peer load: pandas.to_sql (bare table)",  # results written before 2026-11-29
            "peer load: dlt merge (insert_values)",
            "peer load: dlt merge (parquet/ADBC COPY)",
        ],
        COPY_CEILING,
    ),
    (
        "population",
        "merge: all rows staged, 10% changed, into the loaded table + commit",
        [
            "peer merge: dlt merge, 10% changed, into the loaded table (parquet/ADBC COPY)",
            "peer merge: dlt merge, 10% changed, into the loaded table (insert_values)",
        ],
        COPY_CEILING,  # every staged row is at least copied in
    ),
    ("population", "end to end: initial load (run_ingest)", [], (EXTRACT_CEILING, COPY_CEILING)),
    (
        "push",
        "push cases, 20 requests/s quota",
        ["peer: one POST per record (sequential), 20 requests/s quota"],
        PLATFORM_QUOTA,
    ),
    (
        "push",
        "push certificates (platform verifies every SM2 signature), 20 requests/s quota",
        [],
        PLATFORM_QUOTA,
    ),
    (
        "certificates",
        "derive certificates end to end (read, sign on every core, certificate + outbox rows)",
        ["gmssl SM2 sign (pure Python, the old path)"],
        SIGN_CEILING,
    ),
]
GX_IMPORT = "quality: importing GX (once per task process, before its first quality_check)"
"""A fixed cost, not a validation: its row shows no rows validated."""
QUALITY = (
    "population",
    "end to end: initial load (run_ingest)",
    [
        GX_IMPORT,
        "quality_check after the initial load (findings + GX on the batch's rows)",
        "quality_check after one day of changes (findings + GX on the batch's rows)",
        "quality: whole-table GX validation (daily; before: every quality_check)",
    ],
)
"""The quality stages, timed against the initial load's run_ingest (goal: quality_check ≤ 25% of it).

GX's import is its own row: a task process pays it once, before its first check.
"""
MARKERS = {
    "machine": "bench:machine",
    "peers": "bench:peers",
    "scaling": "bench:scaling",
    "quality": "bench:quality",
}
"""README blocks ``<!-- bench:x -->`` ... ``<!-- /bench:x -->`` that ``--readme`` rewrites."""


def stages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A result file's measured stages by name (the files use ``results`` or ``stages``)."""
    rows = doc.get("results") or doc.get("stages") or []
    return {r["name"]: r for r in rows if isinstance(r, dict) and "rows_per_second" in r}


def _suite(scale: str) -> dict[str, Any]:
    return json.loads((RESULTS / f"suite-{float(scale):g}.json").read_text())


def _result_docs(suite: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(benchmark name, result document) for every result file the suite wrote."""
    for name, entry in suite["benchmarks"].items():
        for file in entry.get("results") or _guess_results(entry["command"]):
            yield name, json.loads((RESULTS / file).read_text())


def load_suite(scale: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Benchmark name -> its stages, for the suite run at ``scale``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, doc in _result_docs(_suite(scale)):
        out.setdefault(name, {}).update(stages(doc))
    return out


def _guess_results(command: str) -> list[str]:
    """Result files of a suite entry that did not list them: ``bench.<name> --x N`` writes ``<name>-N.json``."""
    argv = command.split()
    name, number = argv[0].removeprefix("bench."), argv[-1]
    candidates = (f"{name}-{number}.json", f"{name.replace('_', '-')}-{number}.json")
    return [c for c in candidates if (RESULTS / c).exists()][:1]


def scaling_table(scales: list[str]) -> list[str]:
    """Markdown rows: every stage's rows a second (and peak memory) at each scale, and the largest / smallest ratio."""
    suites = {s: load_suite(s) for s in scales}
    head = ["benchmark", "stage", *(f"SCALE={s}" for s in scales), "rows/s ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first, last = suites[scales[0]], suites[scales[-1]]
    order: dict[str, dict[str, None]] = {}  # every stage measured at any scale, in the order measured
    for s in reversed(scales):
        for bench, named in suites[s].items():
            order.setdefault(bench, {}).update(dict.fromkeys(named))
    for bench, named in order.items():
        for stage in named:
            cells = []
            for s in scales:
                r = suites[s].get(bench, {}).get(stage)
                peak = f", {r['peak_rss_mb']:,.0f} MB" if r and "peak_rss_mb" in r else ""
                cells.append(f"{r['rows']:,} rows: {r['rows_per_second']:,}/s{peak}" if r else "")
            base, result = first.get(bench, {}).get(stage), last.get(bench, {}).get(stage)
            ratio = (
                f"{result['rows_per_second'] / base['rows_per_second']:.2f}"
                if base and result and base["rows_per_second"]
                else ""
            )
            lines.append(f"| {bench} | {stage} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def ceiling_rate(named: dict[str, dict[str, Any]], ceiling: Ceiling) -> float | None:
    """The ceiling's rows a second: a stage's, a fixed rate, or stages in series (1 / sum of 1 / rate)."""
    if isinstance(ceiling, int):
        return ceiling
    if isinstance(ceiling, str):
        return named.get(ceiling, {}).get("rows_per_second")
    if isinstance(ceiling, tuple):
        rates = [named.get(c, {}).get("rows_per_second") for c in ceiling]
        return 1 / sum(1 / r for r in rates) if all(rates) else None
    return None


def peer_table(scale: str) -> list[str]:
    """Markdown rows: each ShareHub stage against its best peer and its ceiling at ``scale``; other peers below.

    The best peer is the fastest peer measured; the slower (default) configurations follow as
    extra rows, each with its own ratio.
    """
    suite = load_suite(scale)
    lines = [
        "| stage | rows | ShareHub rows/s | best peer rows/s | ShareHub / best peer | ceiling rows/s "
        "| ShareHub / ceiling |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench, stage, peers, ceiling in PEERS:
        named = suite.get(bench, {})
        ours = named.get(stage)
        if ours is None:
            continue
        rate = ours["rows_per_second"]
        top = ceiling_rate(named, ceiling)
        top_cells = f"{round(top):,} | {rate / top:.2f}" if top else " | "
        present = sorted((p for p in peers if p in named), key=lambda p: -named[p]["rows_per_second"]) or [None]
        for i, peer in enumerate(present):
            peer_cells = " | "
            if peer is not None:
                theirs = named[peer]["rows_per_second"]
                peer_cells = f"{peer.split(': ', 1)[-1]} {theirs:,} | {rate / theirs:.2f}"
            head = f"{bench}: {stage} | {ours['rows']:,} | {rate:,}" if i == 0 else " | | "
            lines.append(f"| {head} | {peer_cells} | {top_cells if i == 0 else ' | '} |")
    return lines


def quality_table(scale: str) -> list[str]:
    """Markdown rows: the quality stages' seconds at ``scale`` and their share of the initial load's time."""
    bench, load, stages_ = QUALITY
    named = load_suite(scale).get(bench, {})
    ingest = named.get(load)
    lines = ["| stage | rows validated | seconds | share of the initial load |", "|---|---|---|---|"]
    for stage in stages_:
        r = named.get(stage)
        if r is None:
            continue
        share = f"{r['seconds'] / ingest['seconds']:.0%}" if ingest and ingest.get("seconds") else ""
        rows = "—" if stage == GX_IMPORT else f"{r['rows']:,}"
        lines.append(f"| {stage} | {rows} | {r['seconds']:,.2f} | {share} |")
    if ingest:
        lines.append(f"| {load} | {ingest['rows']:,} | {ingest['seconds']:,.2f} | 100% |")
    return lines


def _speed_range(speeds: list[dict[str, float]], key: str) -> str:
    values = sorted(s[key] for s in speeds if key in s)
    if not values:
        return ""
    low, high = values[0], values[-1]
    return f"{low:,g}" if low == high else f"{low:,g}–{high:,g}"


def machine_table(scales: list[str]) -> list[str]:
    """Markdown rows: when each suite ran and how fast the machine was (see :mod:`bench.machine`).

    The speeds are the range over the suite's start and end and every result file it wrote; the
    extract ceiling (the same ADBC read of the same generated rows each time) is the database-side reference.
    """
    head = "| suite | date | Python loop, M iterations/s | SHA-256, MiB/s | extract ceiling, rows/s |"
    lines = [head, "|---|---|---|---|---|"]
    for scale in scales:
        suite = _suite(scale)
        speeds = list((suite.get("machine_speed") or {}).values())
        ceiling = None
        for name, doc in _result_docs(suite):
            if isinstance(doc, dict) and "speed" in doc.get("machine", {}):
                speeds.append(doc["machine"]["speed"])
            if name == "population":
                ceiling = stages(doc).get(EXTRACT_CEILING, ceiling)
        rate = f"{ceiling['rows_per_second']:,} ({ceiling['rows']:,} rows)" if ceiling else ""
        loop, digest = _speed_range(speeds, "python_loop_mops"), _speed_range(speeds, "sha256_mb_s")
        lines.append(f"| SCALE={scale} | {str(suite.get('date', ''))[:10]} | {loop} | {digest} | {rate} |")
    return lines


def rewrite_readme(readme: Path, tables: dict[str, list[str]]) -> None:
    """Replace each ``<!-- bench:x -->`` ... ``<!-- /bench:x -->`` block of ``readme`` with its table.

    Raises:
        ValueError: if a block's markers are missing.
    """
    text = readme.read_text(encoding="utf-8")
    for key, lines in tables.items():
        begin, end = f"<!-- {MARKERS[key]} -->", f"<!-- /{MARKERS[key]} -->"
        if begin not in text or end not in text:
            raise ValueError(f"{readme}: no {begin} ... {end} block to rewrite")
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n" + "\n".join(lines) + f"\n{end}{tail}"
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("scales", nargs="+", help="suite scales, smallest first (e.g. 0.1 1.0)")
    parser.add_argument("--peers-at", help="the scale of the peer and quality tables (default: the largest)")
    parser.add_argument("--readme", type=Path, help="rewrite the bench blocks of this README instead of printing")
    args = parser.parse_args()
    at = args.peers_at or args.scales[-1]
    tables = {
        "machine": machine_table(args.scales),
        "peers": peer_table(at),
        "quality": quality_table(at),
        "scaling": scaling_table(args.scales),
    }
    if args.readme:
        rewrite_readme(args.readme, tables)
        print(f"rewrote {', '.join(tables)} in {args.readme}")
        return
    print("\n\n".join("\n".join(lines) for lines in tables.values()))


if __name__ == "__main__":
    main()
