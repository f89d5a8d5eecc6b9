"""One synthetic city, consistent across the department simulators.

Every simulator draws from the same seed and scale, so cross-references are real: insured
persons and legal representatives are persons of the 公安 registry, employers are entities of
the 市场监管 registry, and the listed orphan and dead-but-insured rates can be measured.

``persons`` is the scale: the other volumes follow departments.md's city ratios.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

CITY_PERSONS = 3_000_000
RATIOS = {
    "market_entities": 400_000 / CITY_PERSONS,
    "social_insurance": 4_500_000 / CITY_PERSONS,
    "medical_insurance": 2_800_000 / CITY_PERSONS,
    "cases_per_year": 1_500_000 / CITY_PERSONS,
}


@dataclass(frozen=True)
class CityPlan:
    """Volumes of every source for a city of ``persons`` residents."""

    persons: int
    seed: int

    def volume(self, source: str) -> int:
        """Rows of ``source`` (a key of :data:`RATIOS`) at this scale, at least 50."""
        return max(50, round(self.persons * RATIOS[source]))


@lru_cache(maxsize=4)
def persons(n: int, seed: int) -> pa.Table:
    """The 公安 registry of the city (cached: several simulators read it)."""
    from simulators.ga.population import generate

    return generate(n, seed)[0]


@lru_cache(maxsize=4)
def entities(plan: CityPlan) -> pa.Table:
    """The 市场监管 registry of the city."""
    from simulators.sc.entities import generate

    return generate(plan.volume("market_entities"), plan.seed, persons(plan.persons, plan.seed))[0]
