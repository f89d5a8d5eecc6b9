"""The README's benchmark tables from ``bench/results/``: ShareHub against peers and ceilings, and scaling.

Usage: ``python -m bench.report 0.1 1.0`` reads ``suite-0.1.json`` and ``suite-1.json`` (written by
``make bench SCALE=...``), the result files they list, and prints Markdown: per stage the rows a
second at each scale and their ratio (1.0 means the stage scales linearly), then the 公安 stages
against their peers and ceilings at the largest scale.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
PEERS = {  # ShareHub stage -> (peer stages, ceiling stage) of bench.population
    "extract: ShareHub SqlTableSource (ADBC, keyset order)": (
        ["peer extract: pandas.read_sql"],
        "extract: ceiling, ADBC SELECT * into Arrow",
    ),
    "load: COPY into the empty keyed table (key rebuilt) + commit": (
        [
            "peer load: pandas.to_sql (bare table)",
            "peer load: dlt merge (insert_values)",
            "peer load: dlt merge (parquet/ADBC COPY)",
        ],
        "load: ceiling, ADBC COPY into a bare unindexed table",
    ),
}


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
    """Markdown rows: every stage's rows a second at each scale and the largest / smallest ratio."""
    suites = {s: load_suite(s) for s in scales}
    head = ["benchmark", "stage", *(f"SCALE={s}" for s in scales), "rows/s ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first, last = suites[scales[0]], suites[scales[-1]]
    for bench, named in last.items():
        for stage, result in named.items():
            cells = []
            for s in scales:
                r = suites[s].get(bench, {}).get(stage)
                cells.append(f"{r['rows']:,} rows: {r['rows_per_second']:,}/s" if r else "")
            base = first.get(bench, {}).get(stage)
            ratio = (
                f"{result['rows_per_second'] / base['rows_per_second']:.2f}" if base and base["rows_per_second"] else ""
            )
            lines.append(f"| {bench} | {stage} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def peer_table(scale: str) -> list[str]:
    """Markdown rows: the 公安 stages against their peers and ceiling at ``scale``."""
    population = load_suite(scale).get("population", {})
    lines = [
        "| stage | ShareHub rows/s | peer rows/s | ShareHub / peer | ceiling rows/s | ShareHub / ceiling |",
        "|---|---|---|---|---|---|",
    ]
    for stage, (peers, ceiling) in PEERS.items():
        ours = population.get(stage)
        if ours is None:
            continue
        top = population.get(ceiling)
        for i, peer in enumerate(p for p in peers if p in population):
            theirs = population[peer]["rows_per_second"]
            ceiling_cells = (
                f"{top['rows_per_second']:,} | {ours['rows_per_second'] / top['rows_per_second']:.2f}"
                if top and i == 0
                else " | "
            )
            lines.append(
                f"| {stage if i == 0 else ''} | {ours['rows_per_second']:,} | {peer.split(': ', 1)[1]} "
                f"{theirs:,} | {ours['rows_per_second'] / theirs:.2f} | {ceiling_cells} |"
            )
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
