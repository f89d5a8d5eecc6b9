"""A rule failure: which rows fail one check, named without any value.

Mappings report what they cannot parse as failures; :mod:`quality.rules` reports the rows that break a
declared rule the same way, so quarantine keeps every reason of a row together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Failure:
    """Rows that fail one rule.

    Attributes:
        rule: Stable rule identifier, ``<field>.<check>``.
        field: The field judged.
        message: A readable reason without any value in it.
        mask: Boolean array, true for failing rows.
    """

    rule: str
    field: str
    message: str
    mask: np.ndarray
