from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from schemas.standards import uscc


def test_worked_examples_from_standards() -> None:
    # 91110000600037341L: sum 538, 538 mod 31 = 11, 31 - 11 = 20 -> L; org code 60003734 -> 1
    verdict = uscc.check(pa.array(["91110000600037341L"]))
    assert verdict.valid.tolist() == [True]
    assert bytes(uscc.org_check_characters(np.frombuffer(b"60003734", dtype=np.uint8)[None, :])) == b"1"


def test_defects_are_told_apart() -> None:
    bad_org = "91110000600037342"  # organisation code 60003734 needs check 1, not 2
    bad_org += stdnum_uscc.calc_check_digit(bad_org)  # ... while the GB 32100 check character is right
    verdict = uscc.check(pa.array(["91110000600037341M", bad_org, "9111000060003734IL", None, "911"]))
    assert verdict.bad_checksum.tolist() == [True, False, False, False, False]
    assert verdict.bad_org_code.tolist() == [False, True, False, False, False]
    assert verdict.bad_format.tolist() == [False, False, True, True, True]


def test_normalize() -> None:
    assert (
        uscc.normalize(pa.array([" 9111 0000600037341l ", "９１１１００００６０００３７３４１Ｌ"])).to_pylist()
        == ["91110000600037341L"] * 2
    )


ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def codes(draw: st.DrawFn) -> str:
    head = draw(st.text("0123456789", min_size=8, max_size=8))
    body = draw(st.text(ALPHA, min_size=9, max_size=9))
    last = draw(st.sampled_from(ALPHA))
    if draw(st.booleans()):
        last = stdnum_uscc.calc_check_digit(head + body)
    return head + body + last


@settings(max_examples=400, deadline=None)
@given(st.lists(codes(), min_size=1, max_size=50))
def test_check_character_agrees_with_python_stdnum(values: list[str]) -> None:
    verdict = uscc.check(pa.array(values))
    ours = (~verdict.bad_format & ~verdict.bad_checksum).tolist()
    assert ours == [stdnum_uscc.is_valid(v) for v in values]
