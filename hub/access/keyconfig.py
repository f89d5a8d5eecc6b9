"""Secret keys the API needs, read from the environment and checked when the API starts.

A key of the wrong length or not in hex stops the start with a message naming the variable,
instead of failing on the first request that needs it. Keys never live in the database.
"""

from __future__ import annotations

import os
import secrets
import sys


class KeyConfigError(ValueError):
    """A configured key that cannot be used; the message names the variable, never the key."""


def hex_key(env: str, nbytes: int, *, purpose: str) -> bytes:
    """The ``nbytes``-byte key in ``$env`` (hex), or a random one for this process when unset.

    Args:
        env: Name of the environment variable.
        nbytes: Required key length in bytes.
        purpose: What the key protects, for the warning and the error.

    Raises:
        KeyConfigError: the variable is set but is not exactly ``2 * nbytes`` hex characters.
    """
    raw = os.environ.get(env, "").strip()
    if not raw:
        print(
            f"warning: {env} is not set; {purpose} use a random key for this process only",
            file=sys.stderr,
        )
        return secrets.token_bytes(nbytes)
    if len(raw) != 2 * nbytes:
        raise KeyConfigError(f"{env} must be {2 * nbytes} hex characters ({nbytes} bytes), not {len(raw)} characters")
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise KeyConfigError(f"{env} must be hex (0-9, a-f): it has other characters") from None
