"""SM2 signatures (GB/T 32918, SM3 digest, user id ``1234567812345678``) through OpenSSL 3's libcrypto.

The same libcrypto Python's ``hashlib`` already uses for SM3, called with ``ctypes`` the way
OpenSSL's EVP_PKEY-SM2 manual describes: a key made from its raw parts with
``EVP_PKEY_fromdata``, the distinguishing id set with ``EVP_PKEY_CTX_set1_id`` on a context
handed to ``EVP_MD_CTX_set_pkey_ctx``, then ``EVP_DigestSign``/``EVP_DigestVerify``. OpenSSL
speaks DER; the hub's certificates carry the 64-byte ``r||s``, so both are converted here.

ctypes releases the GIL during each foreign call, so several threads sign on several cores.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_void_p

USER_ID = b"1234567812345678"
_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_EVP_PKEY_KEYPAIR = 0x87  # OSSL_KEYMGMT_SELECT_ALL (private | public | domain parameters | other)
_EVP_PKEY_PUBLIC_KEY = 0x86  # OSSL_KEYMGMT_SELECT_PUBLIC_KEY | ALL_PARAMETERS


class OpenSslError(RuntimeError):
    """libcrypto could not be loaded or refused an operation (not a failed verification)."""


def _load() -> ctypes.CDLL:
    for name in ("libcrypto.so.3", ctypes.util.find_library("crypto"), "libcrypto.3.dylib"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "EVP_PKEY_fromdata"):
            return _declare(lib)
    raise OpenSslError("OpenSSL 3 libcrypto (libcrypto.so.3) not found; SM2 signing needs it")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    signatures: dict[str, tuple[type | None, list[type]]] = {
        "OSSL_PARAM_BLD_new": (c_void_p, []),
        "OSSL_PARAM_BLD_free": (None, [c_void_p]),
        "OSSL_PARAM_BLD_push_utf8_string": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
        "OSSL_PARAM_BLD_push_BN": (c_int, [c_void_p, c_char_p, c_void_p]),
        "OSSL_PARAM_BLD_push_octet_string": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t]),
        "OSSL_PARAM_BLD_to_param": (c_void_p, [c_void_p]),
        "OSSL_PARAM_free": (None, [c_void_p]),
        "BN_bin2bn": (c_void_p, [c_char_p, c_int, c_void_p]),
        "BN_bn2binpad": (c_int, [c_void_p, c_char_p, c_int]),
        "BN_clear_free": (None, [c_void_p]),
        "EVP_PKEY_CTX_new_from_name": (c_void_p, [c_void_p, c_char_p, c_char_p]),
        "EVP_PKEY_CTX_new_from_pkey": (c_void_p, [c_void_p, c_void_p, c_char_p]),
        "EVP_PKEY_CTX_free": (None, [c_void_p]),
        "EVP_PKEY_fromdata_init": (c_int, [c_void_p]),
        "EVP_PKEY_fromdata": (c_int, [c_void_p, POINTER(c_void_p), c_int, c_void_p]),
        "EVP_PKEY_keygen_init": (c_int, [c_void_p]),
        "EVP_PKEY_generate": (c_int, [c_void_p, POINTER(c_void_p)]),
        "EVP_PKEY_get_bn_param": (c_int, [c_void_p, c_char_p, POINTER(c_void_p)]),
        "EVP_PKEY_get_octet_string_param": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
        "EVP_PKEY_free": (None, [c_void_p]),
        "EVP_PKEY_CTX_set1_id": (c_int, [c_void_p, c_char_p, c_int]),
        "EVP_MD_CTX_new": (c_void_p, []),
        "EVP_MD_CTX_free": (None, [c_void_p]),
        "EVP_MD_CTX_set_pkey_ctx": (None, [c_void_p, c_void_p]),
        "EVP_sm3": (c_void_p, []),
        "EVP_DigestSignInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
        "EVP_DigestSign": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
        "EVP_DigestVerifyInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
        "EVP_DigestVerify": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
        "ERR_clear_error": (None, []),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


_LIB: ctypes.CDLL | None = None
_LIB_LOCK = threading.Lock()


def _lib() -> ctypes.CDLL:
    global _LIB
    if _LIB is None:
        with _LIB_LOCK:
            if _LIB is None:
                _LIB = _load()
    return _LIB


def _pkey(private_key: bytes | None, public_point: bytes) -> int:
    """An ``EVP_PKEY*`` of the SM2 curve from the raw private scalar and the ``04||x||y`` point."""
    lib = _lib()
    bld = lib.OSSL_PARAM_BLD_new()
    bn = None
    params = None
    ctx = None
    try:
        ok = lib.OSSL_PARAM_BLD_push_utf8_string(bld, b"group", b"SM2", 0)
        ok &= lib.OSSL_PARAM_BLD_push_octet_string(bld, b"pub", public_point, len(public_point))
        if private_key is not None:
            bn = lib.BN_bin2bn(private_key, len(private_key), None)
            ok &= bool(bn) and lib.OSSL_PARAM_BLD_push_BN(bld, b"priv", bn)
        params = lib.OSSL_PARAM_BLD_to_param(bld)
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        pkey = c_void_p()
        selection = _EVP_PKEY_PUBLIC_KEY if private_key is None else _EVP_PKEY_KEYPAIR
        if not (
            ok and params and ctx and lib.EVP_PKEY_fromdata_init(ctx) == 1
            and lib.EVP_PKEY_fromdata(ctx, byref(pkey), selection, params) == 1
        ):  # fmt: skip
            lib.ERR_clear_error()
            raise ValueError("not a valid SM2 key")
        return pkey.value  # type: ignore[return-value]
    finally:
        lib.EVP_PKEY_CTX_free(ctx)
        lib.OSSL_PARAM_free(params)
        lib.BN_clear_free(bn)
        lib.OSSL_PARAM_BLD_free(bld)


def _public_point(public_key: str) -> bytes:
    raw = bytes.fromhex(public_key)
    if len(raw) == 64:
        return b"\x04" + raw
    if len(raw) == 65 and raw[0] == 4:
        return raw
    raise ValueError("SM2 public key must be 64 bytes x||y (hex), optionally prefixed by 04")


def der_from_raw(raw: bytes) -> bytes:
    """DER ``SEQUENCE { INTEGER r, INTEGER s }`` of a 64-byte ``r||s``."""
    if len(raw) != 64:
        raise ValueError("an SM2 r||s signature is 64 bytes")
    body = b"".join(_der_integer(raw[i : i + 32]) for i in (0, 32))
    return b"\x30" + bytes([len(body)]) + body


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\0") or b"\0"
    if value[0] & 0x80:
        value = b"\0" + value
    return b"\x02" + bytes([len(value)]) + value


def raw_from_der(der: bytes) -> bytes:
    """The 64-byte ``r||s`` of a DER SM2 signature.

    Raises:
        ValueError: if ``der`` is not a DER sequence of two integers that fit 32 bytes.
    """
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("not a DER SM2 signature")
    out, pos = b"", 2
    for _ in range(2):
        if der[pos] != 0x02:
            raise ValueError("not a DER SM2 signature")
        size = der[pos + 1]
        value = der[pos + 2 : pos + 2 + size].lstrip(b"\0")
        if size == 0 or len(value) > 32 or pos + 2 + size > len(der):
            raise ValueError("not a DER SM2 signature")
        out += value.rjust(32, b"\0")
        pos += 2 + size
    if pos != len(der):
        raise ValueError("not a DER SM2 signature")
    return out


class Sm2Key:
    """An SM2 key held by libcrypto: signs (when it has the private part) and verifies ``r||s`` signatures.

    One key object may be used from several threads at once; each call has its own contexts.
    """

    def __init__(self, private_key: str | None, public_key: str) -> None:
        """Make the key from hex: ``private_key`` the 32-byte scalar (or None to verify only), ``public_key`` x||y.

        Raises:
            ValueError: if either part is malformed or the point is not on the curve.
        """
        private = None
        if private_key:
            private = bytes.fromhex(private_key)
            if len(private) != 32 or not 0 < int.from_bytes(private, "big") < _ORDER - 1:
                raise ValueError("SM2 private key must be 32 bytes (hex) in [1, n-2]")
        self._lib = _lib()
        self._pkey = _pkey(private, _public_point(public_key))
        self.can_sign = private is not None

    def __del__(self) -> None:
        pkey, self._pkey = getattr(self, "_pkey", None), None
        if pkey:
            self._lib.EVP_PKEY_free(pkey)

    def _md_ctx(self) -> tuple[int, int]:
        lib = self._lib
        mctx = lib.EVP_MD_CTX_new()
        pctx = lib.EVP_PKEY_CTX_new_from_pkey(None, self._pkey, None)
        if not mctx or not pctx or lib.EVP_PKEY_CTX_set1_id(pctx, USER_ID, len(USER_ID)) != 1:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)
            raise OpenSslError("EVP_PKEY_CTX_set1_id failed")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        return mctx, pctx

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ``r||s`` SM2 signature of ``message`` (fresh random k from OpenSSL's DRBG).

        Raises:
            OpenSslError: if the key has no private part or OpenSSL fails.
        """
        if not self.can_sign:
            raise OpenSslError("this SM2 key has no private part")
        lib = self._lib
        mctx, pctx = self._md_ctx()
        try:
            der = ctypes.create_string_buffer(80)
            size = c_size_t(80)
            if (
                lib.EVP_DigestSignInit(mctx, None, lib.EVP_sm3(), None, self._pkey) != 1
                or lib.EVP_DigestSign(mctx, der, byref(size), message, len(message)) != 1
            ):
                lib.ERR_clear_error()
                raise OpenSslError("EVP_DigestSign failed")
            return raw_from_der(der.raw[: size.value])
        finally:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (64-byte ``r||s``) is a valid SM2 signature of ``message``."""
        try:
            der = der_from_raw(signature)
        except ValueError:
            return False
        lib = self._lib
        mctx, pctx = self._md_ctx()
        try:
            ok = lib.EVP_DigestVerifyInit(mctx, None, lib.EVP_sm3(), None, self._pkey) == 1 and (
                lib.EVP_DigestVerify(mctx, der, len(der), message, len(message)) == 1
            )
            if not ok:
                lib.ERR_clear_error()
            return ok
        finally:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)


def generate_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)``, public as ``x||y`` (128 hex digits)."""
    lib = _lib()
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
    pkey = c_void_p()
    bn = c_void_p()
    try:
        if not ctx or lib.EVP_PKEY_keygen_init(ctx) != 1 or lib.EVP_PKEY_generate(ctx, byref(pkey)) != 1:
            raise OpenSslError("SM2 key generation failed")
        point = ctypes.create_string_buffer(65)
        size = c_size_t(0)
        if (
            lib.EVP_PKEY_get_bn_param(pkey, b"priv", byref(bn)) != 1
            or lib.EVP_PKEY_get_octet_string_param(pkey, b"pub", point, 65, byref(size)) != 1
            or size.value != 65
        ):
            raise OpenSslError("could not read the generated SM2 key")
        private = ctypes.create_string_buffer(32)
        lib.BN_bn2binpad(bn, private, 32)
        return private.raw.hex(), point.raw[1:].hex()
    finally:
        lib.BN_clear_free(bn)
        lib.EVP_PKEY_free(pkey)
        lib.EVP_PKEY_CTX_free(ctx)
