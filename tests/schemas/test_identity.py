from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from schemas.standards import identity

TODAY = dt.date(2026, 11, 23)


def test_worked_example_from_standards() -> None:
    # 11010519491231002X: weighted sum 167, 167 mod 11 = 2 -> X
    body = np.frombuffer(b"11010519491231002", dtype=np.uint8)[None, :]
    assert bytes(identity.check_characters(body)) == b"X"
    verdict = identity.check(pa.array(["11010519491231002X"]), today=TODAY)
    assert verdict.valid.tolist() == [True]
    assert verdict.birth_ymd.tolist() == [19491231]
    assert verdict.odd_sequence.tolist() == [False]  # sequence 002: female


def test_normalize_repairs_formatting_and_upgrades_legacy() -> None:
    raw = pa.array(
        [
            "11010519491231002x",  # lower-case x
            " 11010519491231002X ",  # surrounding spaces (after NFKC)
            "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
            "110105491231002",  # legacy 15-digit
            "110105491231002   ",  # legacy, space padded (varchar(18))
            None,
        ]
    )
    normalized, legacy = identity.normalize(raw)
    assert normalized.to_pylist() == ["11010519491231002X"] * 5 + [None]
    assert legacy.tolist() == [False, False, False, True, True, False]


def _with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character


def test_check_rejects_each_defect() -> None:
    values = pa.array(
        [
            "11010519491231002Y",  # format
            "110105194912310021",  # wrong check character (X is right)
            _with_check("11010519990230002"),  # 1999-02-30
            _with_check("11010520991231002"),  # future
            "1101051949123100",  # too short
        ]
    )
    verdict = identity.check(values, today=TODAY)
    assert verdict.bad_format.tolist() == [True, False, False, False, True]
    assert verdict.bad_checksum.tolist() == [False, True, False, False, False]
    assert verdict.bad_birth_date.tolist() == [False, False, True, False, False]
    assert verdict.future_birth_date.tolist() == [False, False, False, True, False]


def test_impossible_date_keeps_valid_checksum_separate() -> None:
    body = b"11010519990230002"
    check = bytes(identity.check_characters(np.frombuffer(body, dtype=np.uint8)[None, :])).decode()
    verdict = identity.check(pa.array([body.decode() + check]), today=TODAY)
    assert not verdict.bad_checksum[0]
    assert verdict.bad_birth_date[0]


# python-stdnum also checks the region against its own (dated, incomplete) place list, which
# lacks e.g. 640104; GB 11643 itself does not. The oracle comparison therefore uses regions
# stdnum knows for every birth year, so the two judge the same things: format, date, check.
REGIONS = ["110105", "310104", "110101"]


@st.composite
def id_candidates(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    year = draw(st.integers(1900, 2025))
    month = draw(st.integers(0, 13))
    day = draw(st.integers(0, 32))
    seq = draw(st.integers(0, 999))
    body = f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"
    last = draw(st.sampled_from("0123456789X"))
    if draw(st.booleans()):
        last = ric.calc_check_digit(body + "0")  # stdnum ignores the last character
    return body + last


@settings(max_examples=400, deadline=None)
@given(st.lists(id_candidates(), min_size=1, max_size=60))
def test_agrees_with_python_stdnum(numbers: list[str]) -> None:
    verdict = identity.check(pa.array(numbers), today=dt.date(2100, 1, 1))
    assert verdict.valid.tolist() == [ric.is_valid(n) for n in numbers]


@settings(max_examples=200, deadline=None)
@given(st.lists(id_candidates(), min_size=1, max_size=30))
def test_legacy_upgrade_agrees_with_stdnum_check_digit(numbers: list[str]) -> None:
    legacy = [n[:6] + n[8:17] for n in numbers if n[6:8] == "19"]
    if not legacy:
        return
    normalized, flags = identity.normalize(pa.array(legacy))
    assert flags.all()
    for short, full in zip(legacy, normalized.to_pylist(), strict=True):
        body = short[:6] + "19" + short[6:]
        assert full == body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character


def test_check_leaves_the_checked_values_untouched() -> None:
    for values in (["110101199003074514"], ["110101199003074514", "11010119900307451X"]):
        array = pa.array(values)
        identity.check(array)
        assert array.to_pylist() == values


YEARS = list(range(1800, 2100))


def _birth_date_of(number: str) -> dt.date | None:
    """The birth date python-stdnum reads from ``number``; None when it is no real date."""
    try:
        return ric.get_birth_date(number)
    except InvalidComponent:
        return None


def test_century_leap_years_agree_with_the_calendar_and_stdnum() -> None:
    bodies = [f"110105{year:04d}0229002" for year in YEARS]
    numbers = [b + ric.calc_check_digit(b + "0") for b in bodies]  # stdnum ignores the last character
    verdict = identity.check(pa.array(numbers), today=dt.date(2100, 1, 1))
    real = (~verdict.bad_birth_date).tolist()
    assert real == [calendar.isleap(year) for year in YEARS]
    assert real == [_birth_date_of(n) is not None for n in numbers]
    assert verdict.valid[YEARS.index(2000)] and ric.is_valid(numbers[YEARS.index(2000)])  # 2000-02-29: divisible by 400
    assert verdict.bad_birth_date[YEARS.index(1900)] and not ric.is_valid(numbers[YEARS.index(1900)])  # 1900: by 100
    assert verdict.birth_ymd[YEARS.index(2000)] == 20000229
