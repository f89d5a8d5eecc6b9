"""The simulators' own check characters and identity numbers, held to standards.md and python-stdnum.

The department simulators must not compute with the hub's code (an error in it would be copied
into the data meant to catch it); these tests make their second implementation trustworthy
and keep it separate.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidComponent

from simulators import standards

TODAY = dt.date(2026, 11, 1)
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _matrix(values: list[str]) -> np.ndarray:
    return np.frombuffer("".join(values).encode(), dtype=np.uint8).reshape(len(values), -1)


def test_worked_examples_of_the_standards() -> None:
    assert bytes(standards.id_check_characters(_matrix(["11010519491231002"]))) == b"X"
    assert bytes(standards.uscc_check_characters(_matrix(["91110000600037341"]))) == b"L"
    assert bytes(standards.org_check_characters(_matrix(["60003734"]))) == b"1"
    assert standards.ID_WEIGHTS.tolist() == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert standards.USCC_WEIGHTS.tolist() == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert standards.ORG_WEIGHTS.tolist() == [3, 7, 9, 10, 5, 8, 4, 2]


def test_check_characters_agree_with_stdnum() -> None:
    rng = np.random.default_rng(11643)
    ids = ["".join(rng.choice(list("0123456789"), 17)) for _ in range(3000)]
    got = standards.id_check_characters(_matrix(ids))
    assert [chr(c) for c in got] == [ric.calc_check_digit(b + "0") for b in ids]  # stdnum ignores the last one
    alphabet = list(standards.USCC_ALPHABET.decode())
    codes = ["".join(rng.choice(list("0123456789"), 8)) + "".join(rng.choice(alphabet, 9)) for _ in range(3000)]
    got = standards.uscc_check_characters(_matrix(codes))
    assert [chr(c) for c in got] == [stdnum_uscc.calc_check_digit(c) for c in codes]


def _org_by_hand(body: str) -> str:
    """GB 11714 as standards.md words it, one character at a time."""
    total = sum(ORG_ALPHABET.index(ch) * w for ch, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def test_organisation_check_characters_agree_with_the_spec_by_hand() -> None:
    rng = np.random.default_rng(11714)
    bodies = ["".join(rng.choice(list(ORG_ALPHABET), 8)) for _ in range(3000)]
    assert [chr(c) for c in standards.org_check_characters(_matrix(bodies))] == [_org_by_hand(b) for b in bodies]


def test_resident_ids_are_normalised_upgraded_and_judged() -> None:
    wrong = "11010519491231002" + ("1" if ric.calc_check_digit("110105194912310020") != "1" else "2")
    raw = [
        "11010519491231002x",  # lower-case x
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
        " 110105 19491231002X ",  # spaces
        "110105491231002",  # legacy 15-digit
        wrong,
        None,
    ]
    numbers, birth, valid = standards.resident_ids(pa.array(raw), TODAY)
    upgraded = "11010519491231002" + ric.calc_check_digit("110105194912310020")
    assert numbers.to_pylist() == ["11010519491231002X"] * 3 + [upgraded, wrong, None]
    assert valid.tolist() == [True, True, True, True, False, False]
    assert birth[0] == np.datetime64("1949-12-31")


def _stdnum_birth(number: str) -> dt.date | None:
    try:
        return ric.get_birth_date(number)
    except InvalidComponent:
        return None


@pytest.mark.parametrize("month_day", ["0229", "0230", "0431", "1231", "1301", "0100"])
def test_resident_id_birth_dates_follow_the_calendar_and_stdnum(month_day: str) -> None:
    years = list(range(1800, 2100))
    bodies = [f"110105{y:04d}{month_day}002" for y in years]
    numbers = [b + ric.calc_check_digit(b + "0") for b in bodies]
    _, birth, valid = standards.resident_ids(pa.array(numbers), dt.date(2099, 12, 31))
    expected = [_stdnum_birth(n) for n in numbers]
    assert valid.tolist() == [d is not None for d in expected]
    assert [b.astype(dt.date) for b, v in zip(birth, valid, strict=True) if v] == [d for d in expected if d]
    if month_day == "0229":
        assert valid.tolist() == [calendar.isleap(y) for y in years]  # 2000 is, 1900 is not


def test_future_birth_dates_are_not_valid() -> None:
    bodies = ["11010520261101002", "11010520261102002"]
    _, _, valid = standards.resident_ids(pa.array([b + ric.calc_check_digit(b + "0") for b in bodies]), TODAY)
    assert valid.tolist() == [True, False]


def test_department_simulators_do_not_import_the_hubs_algorithms() -> None:
    root = Path(standards.__file__).parent
    allowed_hub = {"hub.store.embedded"}  # the embedded PostgreSQL server, not an algorithm under test
    for path in root.rglob("*.py"):
        if "province" in path.relative_to(root).parts:
            continue  # the platform simulator is separate work
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("quality"), f"{path.name} imports {name}"
                assert not name.startswith("hub") or name in allowed_hub, f"{path.name} imports {name}"
