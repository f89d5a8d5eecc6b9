from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_37_36 as stdnum_mod_37_36

from hub.push import identifier

VERIFIED = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_the_verified_example_from_standards_md() -> None:
    assert identifier.verify(VERIFIED)
    parsed = identifier.parse(VERIFIED)
    assert parsed == identifier.CertificateId("11100000000013338W009", "11330105002500287C", "2025052201", 2)
    assert str(parsed) == VERIFIED
    assert identifier.mod_37_36("11100000000013338W00911330105002500287C2025052201002") == "0"


@pytest.mark.parametrize("check", [c for c in ALNUM if c != "0"])
def test_any_other_check_character_fails(check: str) -> None:
    assert not identifier.verify(VERIFIED[:-1] + check)


def test_changing_the_version_changes_the_check() -> None:
    v3 = identifier.build("11100000000013338W009", "11330105002500287C", "2025052201", 3)
    assert v3.startswith(VERIFIED[:-6] + ".003.") and identifier.verify(v3)
    assert not identifier.verify(VERIFIED.replace(".002.", ".003."))


@given(st.text(alphabet=ALNUM, min_size=1, max_size=80))
def test_agrees_with_python_stdnum(body: str) -> None:
    check = identifier.mod_37_36(body)
    assert check == stdnum_mod_37_36.calc_check_digit(body)
    assert stdnum_mod_37_36.is_valid(body + check)


def test_malformed_parts_are_refused() -> None:
    with pytest.raises(ValueError):
        identifier.build("SHORT", "11330105002500287C", "1", 1)
    with pytest.raises(ValueError):
        identifier.build("11100000000013338W009", "11330105002500287C", "lower", 1)
    assert identifier.parse("1.2.156.3005.2.X.Y.Z.001.0") is None
