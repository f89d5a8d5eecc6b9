"""Masks are defined by what they hide: at least ``min_hidden`` characters, whatever the value's length."""

from __future__ import annotations

import pytest

from hub.access.masking import mask
from schemas.model import MASK_RULES, PersonalClass

CLASSES = [p for p in PersonalClass if p is not PersonalClass.NONE]


def _lengths(personal: PersonalClass) -> list[int]:
    rule = MASK_RULES[personal]
    return [0, 1, rule.min_length - 1, rule.min_length, rule.min_length + 1, 18, 40]


def _value(n: int) -> str:
    return "".join("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 36] for i in range(n))


@pytest.mark.parametrize("personal", CLASSES)
def test_every_mask_hides_at_least_its_minimum_at_every_length(personal: PersonalClass) -> None:
    rule = MASK_RULES[personal]
    for n in _lengths(personal):
        value = _value(n)
        masked = mask(personal, value)
        assert masked is not None
        if n == 0:
            assert masked == ""
        elif n < rule.min_length:
            # too short to hide enough: nothing of it is shown
            assert set(masked) == {"*"}, (personal, n, masked)
            assert len(masked) == (4 if rule.filler else n)
        else:
            shown = value[: rule.head] + (value[n - rule.tail :] if rule.tail else "")
            assert masked.startswith(value[: rule.head]) and masked.endswith(
                value[n - rule.tail :] if rule.tail else ""
            )
            assert n - len(shown) >= rule.min_hidden
            middle = masked[rule.head : len(masked) - rule.tail]
            assert set(middle) == {"*"} and len(middle) == (len(rule.filler) if rule.filler else n - len(shown))


def test_the_edges_the_attack_found() -> None:
    # a 10-character identifier (some service_case.applicant_id) was returned in clear
    assert mask(PersonalClass.IDENTIFIER, "1234567890") == "*" * 10
    assert mask(PersonalClass.IDENTIFIER, "12345678901234567") == "*" * 17  # 17: only 7 would be hidden
    assert mask(PersonalClass.IDENTIFIER, "640104199001011234") == "640104********1234"
    # an 8-character phone showed 7 of 8
    assert mask(PersonalClass.PHONE, "51234567") == "********"
    assert mask(PersonalClass.PHONE, "1381234567") == "**********"
    assert mask(PersonalClass.PHONE, "13812345678") == "138****5678"
    # a one-character name was shown whole
    assert mask(PersonalClass.NAME, "张") == "*"
    assert mask(PersonalClass.NAME, "张三") == "张*"
    # a card number of 5 showed 4 of 5
    assert mask(PersonalClass.OTHER, "A1234") == "*****"
    assert mask(PersonalClass.OTHER, "A1234567") == "****4567"
    # an address of 7 characters showed 6 of them
    assert mask(PersonalClass.ADDRESS, "银川市兴庆区1") == "****"
    assert mask(PersonalClass.ADDRESS, "宁夏银川市兴庆区解放") == "宁夏银川市兴****"


@pytest.mark.parametrize("personal", CLASSES)
def test_none_stays_none(personal: PersonalClass) -> None:
    assert mask(personal, None) is None
