"""The platform's own identifier checks, independent of the hub's ``quality`` and ``hub.push`` code.

Check characters come from ``python-stdnum`` (GB 11643 via ``stdnum.cn.ric``, GB 32100 via
``stdnum.cn.uscc``, ISO/IEC 7064 MOD 37,36 via ``stdnum.iso7064.mod_37_36``); the rest (forms,
birth dates, the GB 11714 organisation code inside a USCC, the GB/T 36904 layout) is written here
from the national standards. A record the hub built with a wrong algorithm is then refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_37_36

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_IDENTITY = re.compile(r"^\d{17}[\dX]$")
_USCC = re.compile(rf"^[{USCC_ALPHABET}]{{2}}\d{{6}}[{USCC_ALPHABET}]{{10}}$")
_CERTIFICATE = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{18})\.(?P<serial>[0-9A-Z]{1,32})"
    r"\.(?P<version>\d{3})\.(?P<check>[0-9A-Z])$"
)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def identity_number_ok(value: str, today: dt.date) -> bool:
    """GB 11643-1999: 17 digits and a check digit or ``X``, a real birth date not after ``today``."""
    if not _IDENTITY.match(value) or ric.calc_check_digit(value) != value[17]:
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1800 <= born.year and born <= today


def organisation_code_ok(code: str) -> bool:
    """GB 11714: eight body characters (0-9, A-Z valued 0-35) and the check character C9."""
    if len(code) != 9 or not all(c.isdigit() or "A" <= c <= "Z" for c in code[:8]):
        return False
    total = sum(int(c, 36) * w for c, w in zip(code[:8], _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


@functools.lru_cache(maxsize=4096)  # issuers recur in every batch
def uscc_ok(value: str) -> bool:
    """GB 32100-2015: form, check character, and the embedded GB 11714 organisation code."""
    return bool(_USCC.match(value)) and uscc.calc_check_digit(value) == value[17] and organisation_code_ok(value[8:17])


@dataclass(frozen=True)
class CertificateId:
    """The parts of a GB/T 36904 certificate identifier."""

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check_ok: bool

    @property
    def series(self) -> str:
        """The identifier without version and check: one per certificate, whatever its version."""
        return f"1.2.156.3005.2.{self.type_code}.{self.issuer_code}.{self.serial}"


@functools.lru_cache(maxsize=4096)  # a batch parses each identifier twice: its checks, then its series
def certificate_id(value: str) -> CertificateId | None:
    """Split ``1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>``; ``None`` if not of that form.

    The check character is ISO/IEC 7064 MOD 37,36 over the five fields concatenated without dots.
    """
    m = _CERTIFICATE.match(value)
    if m is None:
        return None
    body = m["type"] + m["issuer"] + m["serial"] + m["version"]
    return CertificateId(
        m["type"], m["issuer"], m["serial"], int(m["version"]), mod_37_36.calc_check_digit(body) == m["check"]
    )
