"""Checks of request inputs the models cannot express, each failing with a message naming the problem.

* ``X-Purpose``: valid UTF-8 after percent-decoding, 1..200 characters, no control, format
  (zero-width, bidi override), private-use, unassigned or line/paragraph separator characters:
  a purpose is shown to auditors, and such characters hide or reorder what they read.
* Filter values: a scalar (text, number, boolean, null), or for ``in`` a list of scalars; text
  without control characters and at most 256 characters; integers within 64 bits.
"""

from __future__ import annotations

import math
import unicodedata
from urllib.parse import unquote

PURPOSE_CHARS = 200
VALUE_CHARS = 256
_REFUSED_CATEGORIES = {"Cc": "control", "Cf": "format (zero-width or bidi)", "Cs": "surrogate", "Co": "private-use"}
_REFUSED_CATEGORIES |= {"Cn": "unassigned", "Zl": "line separator", "Zp": "paragraph separator"}
_INT64 = 2**63


class BadInput(ValueError):
    """An input that is malformed; the message says which and why, without echoing personal values."""


def purpose(header: str | None) -> str:
    """The stated purpose from the raw ``X-Purpose`` header.

    Raises:
        BadInput: missing, not UTF-8, too long, or carrying a refused character.
    """
    if header is None or not header.strip():
        raise BadInput("state the purpose of the read in the X-Purpose header (UTF-8, percent-encoded)")
    try:
        text = unquote(header, errors="strict").strip()
    except UnicodeDecodeError:
        raise BadInput("X-Purpose is not valid UTF-8 once percent-decoded") from None
    if not text:
        raise BadInput("state the purpose of the read in the X-Purpose header (UTF-8, percent-encoded)")
    if len(text) > PURPOSE_CHARS:
        raise BadInput(f"X-Purpose is {len(text)} characters; at most {PURPOSE_CHARS}")
    for ch in text:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            raise BadInput(f"X-Purpose contains U+{ord(ch):04X}, a {kind} character; state the purpose in plain text")
    return text


def filter_value(name: str, op: str, value: object) -> None:
    """Check one filter's value.

    Raises:
        BadInput: an object, nested list, over-long or control-character text, or an out-of-range number.
    """
    if op == "in":
        if not isinstance(value, list):
            raise BadInput(f"filter {name} in: value must be a list of 1..1000 values")
        for v in value:
            _scalar(name, v)
    elif op == "is_null":
        if value not in (True, False, None, "true", "false"):
            raise BadInput(f"filter {name} is_null: value must be true or false")
    else:
        _scalar(name, value)


def _scalar(name: str, v: object) -> None:
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, int):
        if not -_INT64 <= v < _INT64:
            raise BadInput(f"filter {name}: integer out of range (64 bits at most)")
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise BadInput(f"filter {name}: number must be finite")
    elif isinstance(v, str):
        if len(v) > VALUE_CHARS:
            raise BadInput(f"filter {name}: text longer than {VALUE_CHARS} characters")
        if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in v):
            raise BadInput(f"filter {name}: text contains a control character")
    else:
        kind = "an object" if isinstance(v, dict) else "a list" if isinstance(v, list) else type(v).__name__
        raise BadInput(f"filter {name}: value must be text, a number, a boolean or null, not {kind}")


def plain_text(value: str) -> str:
    """A pydantic validator: refuse control characters (but tab and line breaks) and lone surrogates.

    Raises:
        ValueError: naming the first refused character's code point.
    """
    for ch in value:
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(f"contains U+{ord(ch):04X}, a control or surrogate character")
    return value
