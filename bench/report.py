"""The README's benchmark tables from ``bench/results/``: ShareHub against peers and ceilings, and scaling.

Usage: ``python -m bench.report 0.1 1.0`` reads ``suite-0.1.json`` and ``suite-1.json`` (written by
``make bench SCALE=...``), the result files they list, and prints Markdown: per stage the rows a
second at each scale and their ratio (1.0 means the stage scales linearly), then ShareHub's
stages against their peers and ceilings at the largest scale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
PLATFORM_QUOTA = 10_000  # records a second: 20 requests of 500 records (provincial-platform.md)
PEERS: list[tuple[str, str, list[str], str | int | None]] = [
    # (benchmark, ShareHub stage, peer stages, ceiling stage or a fixed ceiling in rows a second)
    (
        "population",
        "extract: ShareHub SqlTableSource (ADBC, keyset order)",
        ["peer extract: pandas.read_sql"],
        "extract: ceiling, ADBC SELECT * into Arrow",
    ),
    ("rules", "vectorised", ["python_loop", "gx_pandas"], None),
    ("population", "validate: identity numbers only (GB 11643 check)", [], None),
    (
        "population",
        "load: COPY into the empty keyed table (key rebuilt) + commit",
        [
            "peer load: pandas.to_sql (bare table)",
            "peer load: dlt merge (insert_values)",
            "peer load: dlt merge (parquet/ADBC COPY)",
        ],
        "load: ceiling, ADBC COPY into a bare unindexed table",
    ),
    ("population", "merge: all rows staged, 10% changed, into the loaded table", [], None),
    ("population", "end to end: initial load (run_ingest)", [], None),
    (
        "push",
        "push cases, 20 requests/s quota",
        ["peer: one POST per record (sequential), 20 requests/s quota"],
        PLATFORM_QUOTA,
    ),
]


def stages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A result file's measured stages by name (the files use ``results`` or ``stages``)."""
    rows = doc.get("results") or doc.get("stages") or []
    return {r["name"]: r for r in rows if isinstance(r, dict) and "rows_per_second" in r}


def load_suite(scale: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Benchmark name -> its stages, for the suite run at ``scale``."""
    suite = json.loads((RESULTS / f"suite-{float(scale):g}.json").read_text())
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, entry in suite["benchmarks"].items():
        for file in entry.get("results") or _guess_results(entry["command"]):
            out.setdefault(name, {}).update(stages(json.loads((RESULTS / file).read_text())))
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
    for bench, named in last.items():
        for stage, result in named.items():
            cells = []
            for s in scales:
                r = suites[s].get(bench, {}).get(stage)
                peak = f", {r['peak_rss_mb']:,.0f} MB" if r and "peak_rss_mb" in r else ""
                cells.append(f"{r['rows']:,} rows: {r['rows_per_second']:,}/s{peak}" if r else "")
            base = first.get(bench, {}).get(stage)
            ratio = (
                f"{result['rows_per_second'] / base['rows_per_second']:.2f}" if base and base["rows_per_second"] else ""
            )
            lines.append(f"| {bench} | {stage} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def peer_table(scale: str) -> list[str]:
    """Markdown rows: ShareHub's stages against their peers and ceilings at ``scale``."""
    suite = load_suite(scale)
    lines = [
        "| stage | rows | ShareHub rows/s | peer rows/s | ShareHub / peer | ceiling rows/s | ShareHub / ceiling |",
        "|---|---|---|---|---|---|---|",
    ]
    for bench, stage, peers, ceiling in PEERS:
        named = suite.get(bench, {})
        ours = named.get(stage)
        if ours is None:
            continue
        rate = ours["rows_per_second"]
        top = ceiling if isinstance(ceiling, int) else named.get(ceiling, {}).get("rows_per_second")
        top_cells = f"{top:,} | {rate / top:.2f}" if top else " | "
        present = [p for p in peers if p in named] or [None]
        for i, peer in enumerate(present):
            peer_cells = " | "
            if peer is not None:
                theirs = named[peer]["rows_per_second"]
                peer_cells = f"{peer.split(': ', 1)[-1]} {theirs:,} | {rate / theirs:.2f}"
            head = f"{bench}: {stage} | {ours['rows']:,} | {rate:,}" if i == 0 else " | | "
            lines.append(f"| {head} | {peer_cells} | {top_cells if i == 0 else ' | '} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("scales", nargs="+", help="suite scales, smallest first (e.g. 0.1 1.0)")
    args = parser.parse_args()
    print("\n".join(peer_table(args.scales[-1])))
    print()
    print("\n".join(scaling_table(args.scales)))


if __name__ == "__main__":
    main()
