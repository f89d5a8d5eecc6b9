"""The platform simulator checks the hub with its own code, so an error in the hub's algorithms is caught."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from gmssl import sm3 as gmssl_sm3

from hub.push import identifier
from hub.push.gm import canonical_json, request_signature
from hub.push.signer import Sm2Signer
from simulators.province import crypto, identifiers
from simulators.province.shared_rows import identity_numbers

TODAY = dt.date(2026, 11, 2)


def test_the_simulator_imports_none_of_the_code_it_checks() -> None:
    code = (
        "import json, sys\n"
        "import simulators.province.server, simulators.province.store, simulators.province.checks\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'quality' or m.startswith(('hub.push', 'quality.')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def _with_check(body: str) -> str:
    """A GB 11643 number with its check character, computed here from the standard's weights."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def test_identity_numbers_by_the_standard() -> None:
    assert _with_check("11010519491231002") == "11010519491231002X"  # the worked example of GB 11643
    assert identifiers.identity_number_ok("11010519491231002X", TODAY)
    assert not identifiers.identity_number_ok("11010519491231002x", TODAY)  # exact form only
    assert not identifiers.identity_number_ok("110105194912310021", TODAY)  # wrong check character
    assert not identifiers.identity_number_ok(_with_check("11010519990230002"), TODAY)  # 1999-02-30
    # century leap years: 2000-02-29 is a date, 1900-02-29 is not
    assert identifiers.identity_number_ok(_with_check("11010520000229001"), TODAY)
    assert not identifiers.identity_number_ok(_with_check("11010519000229001"), TODAY)
    assert identifiers.identity_number_ok(_with_check("11010520040229001"), TODAY)
    born_tomorrow = "110105" + (TODAY + dt.timedelta(days=1)).strftime("%Y%m%d") + "001"
    assert not identifiers.identity_number_ok(_with_check(born_tomorrow), TODAY)
    assert all(identifiers.identity_number_ok(n, TODAY) for n in identity_numbers(200, 7))


def test_usccs_and_organisation_codes_by_the_standard() -> None:
    assert identifiers.uscc_ok("91110000600037341L")  # worked example: sum 538 -> L, org code 60003734 -> 1
    assert not identifiers.uscc_ok("91110000600037341M")
    assert not identifiers.uscc_ok("91110000600037342L")  # GB 32100 fine only if the org code is too
    assert identifiers.organisation_code_ok("600037341") and not identifiers.organisation_code_ok("600037342")
    assert not identifiers.uscc_ok("9111000060003734IL")  # I is not in the alphabet
    assert identifiers.uscc_ok("11640100MB1899011L") and not identifiers.uscc_ok("11640100MB1899011K")


def test_certificate_identifiers_by_the_standard_and_as_the_hub_builds_them() -> None:
    real = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"  # the verified example
    parsed = identifiers.certificate_id(real)
    assert parsed is not None and parsed.check_ok and parsed.version == 2
    assert not identifiers.certificate_id(real[:-1] + "1").check_ok
    assert identifiers.certificate_id("1.2.156.3005.2.X.Y.Z.001.0") is None
    built = identifier.build("11100000MB0143028R001", "11640100MB1720A11K", "SERIAL9", 7)
    assert identifiers.certificate_id(built).check_ok  # the hub's builder agrees with the second implementation


def test_request_signatures_and_sm2_by_a_second_implementation() -> None:
    assert crypto.sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.sm3(b"abc") == gmssl_sm3.sm3_hash(list(b"abc"))
    body = canonical_json({"batch_id": "b", "records": [{"case_no": "SQ1"}]})
    args = ("POST", "/api/v1/cases/batch", {"b": "2", "a": "1"}, "1767225600000", "0123456789abcdef")
    assert crypto.expected_signature("s3cret", *args, body) == request_signature("s3cret", *args, body)
    private, public = crypto.sm2_keypair()
    message = crypto.canonical_json({"b": 1, "a": "证照"})
    signature = Sm2Signer(private, public).sign(message)  # the hub signs, the platform verifies on its own
    verifier = crypto.Sm2Verifier(public)
    assert verifier.verify(message, signature)
    assert not verifier.verify(message + b" ", signature)
    assert not verifier.verify(message, "not base64!") and not verifier.verify(message, "AAAA")


def test_a_public_key_that_starts_with_04_verifies() -> None:
    """gmssl strips a leading "04" (and more) from the public key: 1 key pair in 256 never verified."""
    private = "f2c3a9ce4413f8052b95920a0b0a7e626080fd3eea4d950b4ad70253b7412b80"
    public = (
        "040da0e281edb1005abe2ce0559ea1db6fb9207737e34d4028ea3c926971bbc6"
        "6fc9b8f7a607f75c86e91097229eec1211278ecabafcf14108c2d334bcf1610d"
    )
    signer = Sm2Signer(private, public)
    signature = signer.sign(b"message")
    assert signer.verify(b"message", signature) and crypto.Sm2Verifier(public).verify(b"message", signature)
    assert crypto.Sm2Verifier("04" + public).verify(b"message", signature)  # with the uncompressed-point prefix
