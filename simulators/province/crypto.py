"""The platform's own 国密 code, written from the published interface, independent of the hub's.

The simulator checks what the hub sends with this second implementation, so an error in the
hub's request signing or certificate signatures shows up as a refusal instead of being shared by
both sides: SM3 and HMAC-SM3 from the standard library (OpenSSL), the canonical request and JSON
as the interface document states them, and SM2 verification written here from GB/T 32918.2 §7
(Z value, e, t = r + s, (x1, y1) = s·G + t·P, R = e + x1) over OpenSSL's elliptic-curve
arithmetic (the EC_POINT API through ctypes, not the EVP signature code the hub uses). The
issuer's key is fixed, so both G and P get precomputed tables, which makes a verification about
three times cheaper than a general one; ``gmssl`` (pure Python) is the fallback without libcrypto.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def sm3(data: bytes) -> str:
    """Lower-case hex SM3 of ``data``."""
    return hashlib.new("sm3", data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with keys sorted and no spaces (what a certificate signature covers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def expected_signature(
    secret: str, method: str, path: str, query: dict[str, str], timestamp: str, nonce: str, body: bytes
) -> str:
    r"""``X-Signature`` as the interface defines it.

    Lower-case hex HMAC-SM3(app_secret, ``METHOD\nPATH\nQUERY\nX-Timestamp\nX-Nonce\nhex(SM3(body))``),
    QUERY being the parameters sorted by name and joined as ``a=1&b=2``.
    """
    query_text = "&".join(f"{name}={query[name]}" for name in sorted(query))
    canonical = f"{method}\n{path}\n{query_text}\n{timestamp}\n{nonce}\n{sm3(body)}"
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), "sm3").hexdigest()


def reconciliation_digest(lines: Iterable[str]) -> str:
    r"""Hex SM3 of the sorted ``key:version`` lines joined by ``\n``."""
    return sm3("\n".join(sorted(lines)).encode("utf-8"))


SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_SM2_A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
_SM2_B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
_SM2_G = (
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
_USER_ID = b"1234567812345678"
_NID_SM2 = 1172


class Sm2Verifier:
    """Verifies the issuer's SM2 signatures (SM3 with the default user id, base64 of ``r||s``).

    One verifier may be used from several threads at once; ``verify_many`` spreads a batch over
    a thread per core (libcrypto runs without the GIL).
    """

    def __init__(self, public_key: str) -> None:
        """Take the issuer's public key as hex ``x||y`` (or ``04||x||y``).

        Raises:
            ValueError: if the key is malformed or not a point of the curve.
        """
        body = public_key[2:] if len(public_key) == 130 and public_key.startswith("04") else public_key
        try:
            point = bytes.fromhex(body)
        except ValueError:
            raise ValueError("SM2 public key is not hex") from None
        if len(point) != 64:
            raise ValueError("SM2 public key must be 64 bytes x||y (hex), optionally prefixed by 04")
        # Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 §5.5
        self._z = hashlib.new(
            "sm3",
            (len(_USER_ID) * 8).to_bytes(2, "big") + _USER_ID + bytes.fromhex(_SM2_A + _SM2_B + _SM2_G) + point,
        ).digest()
        try:
            self._curve: _FixedBaseCurve | None = _FixedBaseCurve(point)
        except OSError:  # no OpenSSL 3 libcrypto: the pure-Python fallback
            self._curve = None
            from gmssl import sm2

            self._sm2 = sm2.CryptSM2(private_key="", public_key=body, mode=1)
            self._sm2.public_key = body  # gmssl lstrip("04")s a key starting with 04: take x||y as given

    def verify(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` is a valid SM2 signature of ``message``; malformed input is not."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 64:
            return False
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if not (0 < r < SM2_N and 0 < s < SM2_N):
            return False
        if self._curve is None:
            try:
                return bool(self._sm2.verify_with_sm3(raw.hex(), message))
            except (ValueError, TypeError, ZeroDivisionError):
                return False
        e = int.from_bytes(hashlib.new("sm3", self._z + message).digest(), "big")
        t = (r + s) % SM2_N
        if t == 0:
            return False
        x1 = self._curve.x_of_sum(s, t)
        return x1 is not None and (e + x1) % SM2_N == r

    def verify_many(self, pairs: Sequence[tuple[bytes, str]]) -> list[bool]:
        """``verify`` of each ``(message, signature)``, in order, on a thread per core."""
        workers = os.cpu_count() or 1
        if len(pairs) < 2 * workers:
            return [self.verify(m, s) for m, s in pairs]
        step = -(-len(pairs) // workers)
        slices = [pairs[i : i + step] for i in range(0, len(pairs), step)]
        with ThreadPoolExecutor(max_workers=len(slices)) as pool:
            return [ok for part in pool.map(lambda part: [self.verify(m, s) for m, s in part], slices) for ok in part]


def _libcrypto() -> ctypes.CDLL:
    """OpenSSL 3's libcrypto with the EC_POINT functions declared (raises OSError when absent)."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
    p, i, z = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    pp = ctypes.POINTER(p)
    for name, restype, argtypes in (
        ("EC_GROUP_new_by_curve_name", p, [i]),
        ("EC_GROUP_dup", p, [p]),
        ("EC_GROUP_free", None, [p]),
        ("EC_GROUP_get0_order", p, [p]),
        ("EC_GROUP_get0_cofactor", p, [p]),
        ("EC_GROUP_get0_generator", p, [p]),
        ("EC_GROUP_set_generator", i, [p, p, p, p]),
        ("EC_GROUP_precompute_mult", i, [p, p]),
        ("EC_POINT_new", p, [p]),
        ("EC_POINT_free", None, [p]),
        ("EC_POINT_oct2point", i, [p, p, ctypes.c_char_p, z, p]),
        ("EC_POINT_is_at_infinity", i, [p, p]),
        ("EC_POINTs_mul", i, [p, p, p, z, pp, pp, p]),
        ("EC_POINT_add", i, [p, p, p, p, p]),
        ("EC_POINT_get_affine_coordinates", i, [p, p, p, p, p]),
        ("BN_new", p, []),
        ("BN_bin2bn", p, [ctypes.c_char_p, i, p]),
        ("BN_bn2binpad", i, [p, ctypes.c_char_p, i]),
        ("BN_CTX_new", p, []),
        ("BN_CTX_free", None, [p]),
        ("ERR_clear_error", None, []),
    ):
        try:
            fn = getattr(lib, name)
        except AttributeError as exc:
            raise OSError(f"libcrypto lacks {name}") from exc
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class _FixedBaseCurve:
    """s·G + t·P on the SM2 curve for one fixed P, both bases with OpenSSL's precomputed tables.

    OpenSSL precomputes multiples of a group's generator only, so P gets a second group, the same
    curve with P as its generator. A multiplication by a lone scalar would take OpenSSL's
    constant-time ladder (no tables); pairing it with ``0·G`` takes the table path instead, which
    is fine here: a verification has no secret to protect.
    """

    def __init__(self, point: bytes) -> None:
        lib = self._lib = _libcrypto()
        self._tls = threading.local()
        ctx = lib.BN_CTX_new()
        try:
            self._g = lib.EC_GROUP_new_by_curve_name(_NID_SM2)
            self._p = lib.EC_GROUP_dup(self._g) if self._g else None
            if not self._p:
                raise OSError("libcrypto has no SM2 curve")
            self._point = lib.EC_POINT_new(self._g)
            if lib.EC_POINT_oct2point(
                self._g, self._point, b"\x04" + point, 65, ctx
            ) != 1 or lib.EC_POINT_is_at_infinity(self._g, self._point):
                lib.ERR_clear_error()
                raise ValueError("SM2 public key is not a point of the curve")
            order, cofactor = lib.EC_GROUP_get0_order(self._g), lib.EC_GROUP_get0_cofactor(self._g)
            if (
                lib.EC_GROUP_set_generator(self._p, self._point, order, cofactor) != 1
                or lib.EC_GROUP_precompute_mult(self._g, ctx) != 1
                or lib.EC_GROUP_precompute_mult(self._p, ctx) != 1
            ):
                raise OSError("libcrypto could not precompute the SM2 tables")
            self._generator = lib.EC_GROUP_get0_generator(self._g)
            self._zero = lib.BN_new()
        finally:
            lib.BN_CTX_free(ctx)

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is not None:
            lib.EC_POINT_free(getattr(self, "_point", None))
            lib.EC_GROUP_free(getattr(self, "_p", None))
            lib.EC_GROUP_free(getattr(self, "_g", None))

    def _scratch(self) -> Any:
        tls = self._tls
        if not hasattr(tls, "ctx"):
            lib = self._lib
            tls.ctx = lib.BN_CTX_new()
            tls.s, tls.t, tls.x = lib.BN_new(), lib.BN_new(), lib.BN_new()
            tls.sg, tls.tp, tls.sum = (lib.EC_POINT_new(self._g) for _ in range(3))
            tls.base = (ctypes.c_void_p * 1)(self._generator)
            tls.nought = (ctypes.c_void_p * 1)(self._zero)
            tls.out = ctypes.create_string_buffer(32)
        return tls

    def x_of_sum(self, s: int, t: int) -> int | None:
        """The affine x of s·G + t·P, or None at infinity."""
        lib, w = self._lib, self._scratch()
        lib.BN_bin2bn(s.to_bytes(32, "big"), 32, w.s)
        lib.BN_bin2bn(t.to_bytes(32, "big"), 32, w.t)
        if (
            lib.EC_POINTs_mul(self._g, w.sg, w.s, 1, w.base, w.nought, w.ctx) != 1
            or lib.EC_POINTs_mul(self._p, w.tp, w.t, 1, w.base, w.nought, w.ctx) != 1
            or lib.EC_POINT_add(self._g, w.sum, w.sg, w.tp, w.ctx) != 1
        ):
            lib.ERR_clear_error()
            raise OSError("libcrypto failed an SM2 point multiplication")
        if lib.EC_POINT_is_at_infinity(self._g, w.sum):
            return None
        lib.EC_POINT_get_affine_coordinates(self._g, w.sum, w.x, None, w.ctx)
        lib.BN_bn2binpad(w.x, w.out, 32)
        return int.from_bytes(w.out.raw, "big")


def sm2_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)``, public as ``x||y`` (the issuer's key for a simulation)."""
    from gmssl import sm2

    curve = sm2.default_ecc_table
    d = 1 + secrets.randbelow(int(curve["n"], 16) - 2)
    private = f"{d:064x}"
    return private, sm2.CryptSM2(private_key=private, public_key="", mode=1)._kg(d, curve["g"])
