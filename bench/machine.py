"""A fixed CPU reference taken with every benchmark, so results of different days can be compared.

The machines this runs on are shared virtual machines whose speed varies from day to day (the same
3M-person load has taken 13 s one day and 42 s another, its ceilings slowing alike). Each result
file records what a fixed piece of work ran at when it was written: an interpreted loop (what the
Python parts of a stage pay) and SHA-256 over memory (what C code and the server pay).
"""

from __future__ import annotations

import hashlib
import time

LOOP_ITERATIONS = 2_000_000
HASHED_BYTES = 64 * 2**20
REPEATS = 3


def _loop() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(LOOP_ITERATIONS):
        total += i
    return time.perf_counter() - start


def _sha256(data: bytes) -> float:
    start = time.perf_counter()
    hashlib.sha256(data).digest()
    return time.perf_counter() - start


def speed() -> dict[str, float]:
    """This machine's speed now, the best of a few repeats (the least disturbed).

    Returns:
        ``python_loop_mops``: million iterations a second of a plain ``for`` loop adding integers;
        ``sha256_mb_s``: MiB a second hashed by the system's SHA-256 on one core.
    """
    data = bytes(HASHED_BYTES)
    loop = min(_loop() for _ in range(REPEATS))
    digest = min(_sha256(data) for _ in range(REPEATS))
    return {
        "python_loop_mops": round(LOOP_ITERATIONS / loop / 1e6, 2),
        "sha256_mb_s": round(HASHED_BYTES / 2**20 / digest),
    }
