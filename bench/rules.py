"""Benchmark of the row rules: vectorised (Arrow/NumPy) vs a pure-Python loop vs GX on pandas, same checks.

Usage: ``python -m bench.rules --rows 1000000``. Generates the 公安 registry at that size, maps
it with the real mapping, then runs on the mapped batch, side by side in one process:

* ``vectorised``: :func:`quality.rules.validate` with every rule ``shared.population`` declares;
* ``identity_check``: :func:`schemas.standards.identity.check` alone (the 10 M/s goal);
* ``python_loop``: the same checks written as a plain per-row Python loop;
* ``gx_pandas``: a GX Core suite with the same checks on a pandas DataFrame (the check
  character and the birth-date/sex agreement, which GX cannot express, as a pandas-computed
  column it expects to be true; that computation is timed as part of GX).

Writes ``bench/results/rules-<rows>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
from pathlib import Path

from bench.measure import run_main
from hub.cli_output import echo

RESULTS = Path(__file__).parent / "results"
TODAY = dt.date(2026, 11, 23)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
REGION_RE = re.compile(r"^[0-9]{6}$")
BAD_TEXT_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\uff01-\uff5e\u3000]")


def python_loop(rows: list[dict], genders: set, ethnicities: set, statuses: set, provinces: set, city: set) -> int:
    """The population rules as a per-row loop; returns the number of rejected rows."""
    rejected = 0
    for r in rows:
        bad = False
        i = r["id_number"]
        if i is None or not ID_RE.match(i):
            bad = True
        else:
            s = sum(int(c) * w for c, w in zip(i[:17], WEIGHTS, strict=True))
            if "10X98765432"[s % 11] != i[17]:
                bad = True
            try:
                born = dt.date(int(i[6:10]), int(i[10:12]), int(i[12:14]))
                if born > TODAY or born.year < 1800:
                    bad = True
            except ValueError:
                bad = True
            else:
                if r["birth_date"] is not None and r["birth_date"] != born:
                    bad = True
                odd = int(i[16]) % 2 == 1
                if (r["gender"] == "1" and not odd) or (r["gender"] == "2" and odd):
                    bad = True
        if r["gender"] not in genders or r["status"] not in statuses or not r["name"]:
            bad = True
        if r["ethnicity"] is not None and r["ethnicity"] not in ethnicities:
            bad = True
        b = r["birth_date"]
        if b is None or b > TODAY or b < dt.date(1900, 1, 1):
            bad = True
        rc = r["region_code"]
        if rc is None or not REGION_RE.match(rc) or rc[:2] not in provinces or (rc[:4] == "6401" and rc not in city):
            bad = True
        for t in (r["name"], r["address"]):
            if t is not None and (BAD_TEXT_RE.search(t) or t != t.strip()):
                bad = True
        rejected += bad
    return rejected


def gx_pandas(df: object, genders: list, ethnicities: list, statuses: list) -> dict:
    """The same checks as a GX suite on pandas (ephemeral context); returns failed expectations."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import pandas as pd

    ids = df["id_number"].fillna("")
    total = pd.Series(0, index=df.index, dtype="float64")
    for i, w in enumerate(WEIGHTS):
        total += pd.to_numeric(ids.str[i], errors="coerce") * w
    expected = total.mod(11).map(lambda k: "10X98765432"[int(k)] if k == k else None)
    born = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d", errors="coerce")
    odd = pd.to_numeric(ids.str[16], errors="coerce") % 2 == 1
    parity_ok = ~(((df["gender"] == "1") & ~odd) | ((df["gender"] == "2") & odd))
    date_ok = born.notna() & (born <= pd.Timestamp(TODAY)) & (born == df["birth_date"])
    df = df.assign(id_check_ok=(expected == ids.str[17]) & date_ok & parity_ok)
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset("population")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    e = gx.expectations
    suite = gx.ExpectationSuite(
        name="population",
        expectations=[
            *(e.ExpectColumnValuesToNotBeNull(column=c) for c in ("id_number", "name", "gender", "birth_date")),
            *(e.ExpectColumnValuesToNotBeNull(column=c) for c in ("region_code", "status")),
            e.ExpectColumnValuesToMatchRegex(column="id_number", regex=ID_RE.pattern),
            e.ExpectColumnValuesToBeInSet(column="id_check_ok", value_set=[True]),
            e.ExpectColumnValuesToBeInSet(column="gender", value_set=genders),
            e.ExpectColumnValuesToBeInSet(column="ethnicity", value_set=ethnicities),
            e.ExpectColumnValuesToBeInSet(column="status", value_set=statuses),
            e.ExpectColumnValuesToMatchRegex(column="region_code", regex=REGION_RE.pattern),
            e.ExpectColumnValuesToBeBetween(
                column="birth_date", min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime.combine(TODAY, dt.time())
            ),
            *(e.ExpectColumnValuesToNotMatchRegex(column=c, regex=BAD_TEXT_RE.pattern) for c in ("name", "address")),
            *(e.ExpectColumnValuesToNotMatchRegex(column=c, regex=r"^\s|\s$") for c in ("name", "address")),
        ],
    )
    suite = context.suites.add(suite)
    result = batch.validate(suite)
    failed = {
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column', '')})": r.result.get(
            "unexpected_count"
        )
        for r in result.results
        if not r.success
    }
    return {"success": bool(result.success), "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=640100)
    args = parser.parse_args()

    import numpy as np
    import pyarrow as pa

    from bench.measure import measure
    from quality.rules import CITY_REGIONS, validate
    from schemas.codes import ETHNICITY, GENDER, PERSON_STATUS, PROVINCES
    from schemas.mappings.ga_population import MAPPING
    from schemas.standards import identity
    from schemas.tables.population import POPULATION
    from simulators.ga import population

    raw, _ = population.generate(args.rows, args.seed)
    mapped = MAPPING.apply(raw)
    data = mapped.data
    n = data.num_rows
    results = []

    with measure("identity_check", n) as m:
        verdict = identity.check(data["id_number"], today=TODAY)
    m.extra["rejected"] = int((~verdict.valid).sum())
    results.append(m)

    with measure("vectorised", n) as m:
        v = validate(POPULATION, data, today=TODAY, extra=mapped.failures)
    m.extra["rejected"] = int(np.count_nonzero(v.rejected))
    results.append(m)

    rows = data.to_pylist()
    with measure("python_loop", n) as m:
        m.extra["rejected"] = python_loop(
            rows, set(GENDER.codes), set(ETHNICITY.codes), set(PERSON_STATUS.codes), set(PROVINCES), set(CITY_REGIONS)
        )
    results.append(m)
    del rows

    df = data.select(
        ["id_number", "name", "gender", "ethnicity", "birth_date", "region_code", "address", "status"]
    ).to_pandas()
    df["birth_date"] = df["birth_date"].astype("datetime64[ns]")
    with measure("gx_pandas", n) as m:
        m.extra.update(gx_pandas(df, list(GENDER.codes), list(ETHNICITY.codes), list(PERSON_STATUS.codes)))
    results.append(m)

    report = {
        "benchmark": "rules",
        "rows": n,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "note": "shared machine"},
        "arrow": pa.__version__,
        "stages": [r.to_json() for r in results],
    }
    for r in results:
        echo(f"{r.name:16s} {r.seconds:8.3f} s {r.rows_per_second:14,.0f} rows/s  {r.extra}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"rules-{n}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    run_main(main)
