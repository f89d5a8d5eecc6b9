"""Deterministic synthetic 医保 enrolments (参保信息) and the daily ``YB_CBXX_<YYYYMMDD>.csv`` files.

The insured are persons of the city's 公安 registry and the employers of 职工 enrolments are
entities of the 市场监管 registry (both from :mod:`simulators.city`), so cross-references are
real. :func:`full_state` is the enrolment table as of ``BASE_DAY``; :func:`day_changes` the rows
changed on day ``k`` (a row may change again on a later day: the latest 变更时间 wins).
:func:`write_file` writes one file exactly as departments.md describes it (GBK, CRLF, comma,
double quotes where needed, Chinese header) with any of the listed dirt switched on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulators.city import CityPlan, entities, persons

HEADER = (
    "人员编号",
    "身份证号",
    "姓名",
    "险种类型",
    "参保状态",
    "参保单位代码",
    "参保单位名称",
    "参保日期",
    "变更时间",
)
"""The file's header as departments.md specifies it: the department's own, not read from the hub's mapping."""

BASE_DAY = dt.date(2026, 11, 1)
"""The full file is dated BASE_DAY; day ``k`` of changes is dated BASE_DAY + k."""

DRIFT_COLUMN = "经办机构"
"""The column the department adds without notice (inserted before 参保日期 when drift is on)."""
STATUS_WEIGHTS = {"1": 0.90, "2": 0.04, "4": 0.06}
EMPLOYEE_SHARE = 0.45
CHANGE_RATE = 0.004
NEW_ENROLMENT_RATE = 0.0005
SEPARATOR_SHARE = 0.01
"""Share of employer names holding a comma or a line break (so the field is quoted)."""


@dataclass(frozen=True)
class Dirt:
    """Which dirt one delivered file carries (departments.md, 医保局).

    Attributes:
        bom: UTF-8 with a byte-order mark instead of GBK.
        blank_last_line: An empty line after the last record.
        truncated_last_line: The last record cut after its third field, without a line end.
        quoted_separators: Some employer names hold a comma or a CRLF (so they are quoted).
        drift_column: A column added without notice (:data:`DRIFT_COLUMN`).
        missing_column: A declared column (参保日期) left out (not in the spec's dirt list: an error case).
        nul_byte: A NUL byte at the start of the 身份证号 of the middle record.
        invalid_byte: A byte that is valid in neither GBK nor UTF-8 (``0xFF``) at the start of the
            身份证号 of the record after the middle one.
        extra_field: One more field (``EXTRA``) at the end of the record two after the middle one.
    """

    bom: bool = False
    blank_last_line: bool = False
    truncated_last_line: bool = False
    quoted_separators: bool = True
    drift_column: bool = False
    missing_column: bool = False
    nul_byte: bool = False
    invalid_byte: bool = False
    extra_field: bool = False


EXTRA_FIELD = b",EXTRA"
"""What :attr:`Dirt.extra_field` appends to its record (before the line end)."""


def file_name(day: int) -> str:
    """``YB_CBXX_<YYYYMMDD>.csv`` of day ``day`` (0 is the full file)."""
    return f"YB_CBXX_{(BASE_DAY + dt.timedelta(days=day)):%Y%m%d}.csv"


def _person_numbers(index: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("6401", np.char.zfill(index.astype(str), 12)))


def _rows(plan: CityPlan, who: np.ndarray, rng: np.random.Generator, stamp_day: dt.date | None) -> pa.Table:
    """Enrolment rows for the persons at registry rows ``who``, values drawn from ``rng``."""
    people = persons(plan.persons, plan.seed)
    firms = entities(plan)
    n = len(who)
    employee = rng.random(n) < EMPLOYEE_SHARE
    firm_pick = rng.integers(0, firms.num_rows, n)
    codes = pc.if_else(pa.array(employee), firms["TYSHXYDM"].take(pa.array(firm_pick)), "")
    names = pc.if_else(pa.array(employee), firms["ZTMC"].take(pa.array(firm_pick)), "")
    status = rng.choice(np.array(list(STATUS_WEIGHTS)), size=n, p=list(STATUS_WEIGHTS.values()))
    enrolled = np.datetime64("1998-01-01") + rng.integers(0, 10_500, n).astype("timedelta64[D]")
    enrolled = np.minimum(enrolled, np.datetime64(BASE_DAY - dt.timedelta(days=1)))
    if stamp_day is None:
        seconds = rng.integers(0, 16 * 365 * 86_400, n)
        stamps = np.datetime64("2010-01-01T00:00:00") + seconds.astype("timedelta64[s]")
    else:
        seconds = rng.integers(8 * 3600, 18 * 3600, n)
        stamps = np.datetime64(stamp_day, "s") + seconds.astype("timedelta64[s]")
    return pa.table(
        {
            "人员编号": _person_numbers(who),
            "身份证号": pc.utf8_trim_whitespace(people["GMSFHM"].take(pa.array(who))),
            "姓名": people["XM"].take(pa.array(who)),
            "险种类型": pa.array(np.where(employee, "310", "390")),
            "参保状态": pa.array(status),
            "参保单位代码": codes,
            "参保单位名称": names,
            "参保日期": pc.strftime(pa.array(enrolled.astype("datetime64[s]")), format="%Y/%m/%d"),
            "变更时间": pc.strftime(pa.array(stamps), format="%Y-%m-%d %H:%M:%S"),
        }
    )


def _insured(plan: CityPlan) -> np.ndarray:
    """Registry rows of the persons enrolled as of BASE_DAY (``plan.volume("medical_insurance")`` of them)."""
    rng = np.random.default_rng([plan.seed, 310])
    order = rng.permutation(plan.persons)
    return order[: min(plan.volume("medical_insurance"), plan.persons)]


def full_state(plan: CityPlan) -> pa.Table:
    """Every enrolment as of BASE_DAY: the content of the initial full file."""
    who = np.sort(_insured(plan))
    return _rows(plan, who, np.random.default_rng([plan.seed, 390]), None)


def day_changes(plan: CityPlan, day: int) -> pa.Table:
    """The rows changed on day ``day`` (1, 2, ...): status or employer changes and new enrolments."""
    rng = np.random.default_rng([plan.seed, 390, day])
    insured = _insured(plan)
    k = max(5, round(len(insured) * CHANGE_RATE))
    changed = rng.choice(insured, size=min(k, len(insured)), replace=False)
    fresh = np.setdiff1d(np.arange(plan.persons), insured)
    k_new = min(len(fresh), max(1, round(plan.persons * NEW_ENROLMENT_RATE)))
    newcomers = rng.choice(fresh, size=k_new, replace=False) if k_new else np.array([], dtype=np.int64)
    who = np.sort(np.r_[changed, newcomers])
    return _rows(plan, who, rng, BASE_DAY + dt.timedelta(days=day))


def _with_separators(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Give a few employer names a comma or a line break, as real names with branch notes have."""
    names = table["参保单位名称"].combine_chunks()
    has_name = pc.not_equal(names, "").to_numpy(zero_copy_only=False)
    picks = has_name & (rng.random(table.num_rows) < SEPARATOR_SHARE)
    picks[np.flatnonzero(has_name)[:2]] = True
    if not picks.any():
        return table
    suffix = np.where(np.arange(picks.sum()) % 2 == 0, ",银川分公司", "\r\n（银川分公司）")
    edited = pc.binary_join_element_wise(names.filter(pa.array(picks)), pa.array(suffix), "")
    names = pc.replace_with_mask(names, pa.array(picks), edited)
    return table.set_column(table.schema.get_field_index("参保单位名称"), "参保单位名称", names)


def encode_csv(table: pa.Table, dirt: Dirt, seed: int = 0) -> bytes:
    """The bytes of one delivered file holding ``table`` with ``dirt``."""
    if dirt.quoted_separators:
        table = _with_separators(table, np.random.default_rng([seed, 44]))
    columns = list(HEADER)
    if dirt.drift_column:
        columns.insert(columns.index("参保日期"), DRIFT_COLUMN)
        table = table.append_column(DRIFT_COLUMN, pa.array(["银川市医疗保障局"] * table.num_rows))
    if dirt.missing_column:
        columns.remove("参保日期")
    data = [table[c].to_pylist() for c in columns]
    rows = list(zip(*data, strict=True))
    middle = table.num_rows // 2
    spoilt = {
        middle: (b",", b",\x00") if dirt.nul_byte else None,
        middle + 1: (b",", b",\xff") if dirt.invalid_byte else None,
        middle + 2: (b"\r\n", EXTRA_FIELD + b"\r\n") if dirt.extra_field else None,
    }
    spoilt = {i: edit for i, edit in spoilt.items() if edit is not None and i < table.num_rows}
    encoding = "utf-8" if dirt.bom else "gbk"
    pieces, done = [_csv_text([columns]).encode(encoding)], 0
    for i in sorted(spoilt):
        old, new = spoilt[i]
        pieces.append(_csv_text(rows[done:i]).encode(encoding))
        line = _csv_text(rows[i : i + 1]).encode(encoding)
        at = line.rfind(old) if old == b"\r\n" else line.find(old)
        pieces.append(line[:at] + new + line[at + len(old) :])
        done = i + 1
    tail = _csv_text(rows[done:])
    if dirt.truncated_last_line and table.num_rows:
        found = tail.rstrip("\r\n").rfind("\r\n")
        start = found + 2 if found >= 0 else 0
        cut = start + sum(len(v) for v in [data[0][-1], data[1][-1], data[2][-1]]) + 2
        tail = tail[:cut]
    if dirt.blank_last_line:
        tail += "\r\n"
    pieces.append(tail.encode(encoding))
    return (b"\xef\xbb\xbf" if dirt.bom else b"") + b"".join(pieces)


def _csv_text(rows: list) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue()


def write_file(inbox: Path, name: str, payload: bytes, *, complete: bool = True) -> Path:
    """Write a data file into ``inbox``, then (when ``complete``) its empty ``.ok`` marker.

    The data goes to a temporary name first and is renamed, as an SFTP upload finishes; the
    marker is written only after the data file is complete. A file not ``complete`` is still
    being written: only its first half is there, and no marker.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    if not complete:
        path.write_bytes(payload[: len(payload) // 2])
        return path
    partial = inbox / f".{name}.part"
    partial.write_bytes(payload)
    os.replace(partial, path)
    marker = path.with_suffix(".ok")
    marker.unlink(missing_ok=True)
    marker.write_bytes(b"")
    return path
