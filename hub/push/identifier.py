"""GB/T 36904 certificate identifiers (证照标识) with their ISO/IEC 7064 MOD 37,36 check character.

``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``: the check is computed
over the type code, issuer code, serial and version concatenated without dots (and without the
root), as the provincial libraries implement it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_PATTERN = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{18})\.(?P<serial>[0-9A-Z]{1,32})"
    r"\.(?P<version>\d{3})\.(?P<check>[0-9A-Z])$"
)


def mod_37_36(body: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character of ``body`` (digits and upper-case letters)."""
    modulus = 36
    p = modulus // 2
    for ch in body:
        try:
            value = _VALUE[ch]
        except KeyError:
            raise ValueError(f"{ch!r} is not a digit or an upper-case letter") from None
        p = (((p or modulus) * 2) % (modulus + 1) + value) % modulus
    return ALPHABET[(1 - ((p or modulus) * 2) % (modulus + 1)) % modulus]


@dataclass(frozen=True)
class CertificateId:
    """The parts of a certificate identifier."""

    type_code: str
    issuer_code: str
    serial: str
    version: int

    @property
    def series(self) -> str:
        """The identifier without version and check: the same for every version of one certificate."""
        return f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}"

    def __str__(self) -> str:
        version = f"{self.version:03d}"
        check = mod_37_36(self.type_code + self.issuer_code + self.serial + version)
        return f"{self.series}.{version}.{check}"


def build(type_code: str, issuer_code: str, serial: str, version: int) -> str:
    """Format an identifier with its check character.

    Raises:
        ValueError: if a part does not have the form the standard requires.
    """
    if not 1 <= version <= 999:
        raise ValueError(f"certificate version {version} is outside 1-999")
    text = str(CertificateId(type_code, issuer_code, serial, version))
    if not verify(text):
        raise ValueError(f"certificate identifier parts are malformed: type {type_code!r}, issuer {issuer_code!r}")
    return text


def parse(identifier: str) -> CertificateId | None:
    """Split a well-formed identifier (the check character is not verified); ``None`` if malformed."""
    m = _PATTERN.match(identifier)
    if m is None:
        return None
    return CertificateId(m["type"], m["issuer"], m["serial"], int(m["version"]))


def verify(identifier: str) -> bool:
    """Whether ``identifier`` is well formed and its MOD 37,36 check character is right."""
    m = _PATTERN.match(identifier)
    return m is not None and mod_37_36(m["type"] + m["issuer"] + m["serial"] + m["version"]) == m["check"]
