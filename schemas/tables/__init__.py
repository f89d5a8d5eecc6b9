"""All standard shared tables, by qualified name."""

from __future__ import annotations

from schemas.model import Table
from schemas.tables.e_certificate import E_CERTIFICATE
from schemas.tables.market_entity import MARKET_ENTITY
from schemas.tables.medical_insurance import MEDICAL_INSURANCE
from schemas.tables.population import POPULATION
from schemas.tables.service_case import SERVICE_CASE, SERVICE_CASE_STEP
from schemas.tables.service_efficiency import SERVICE_BAD_REVIEW, SERVICE_EFFICIENCY
from schemas.tables.social_insurance import SOCIAL_INSURANCE

TABLES: dict[str, Table] = {
    t.qualified_name: t
    for t in (
        POPULATION,
        SOCIAL_INSURANCE,
        MEDICAL_INSURANCE,
        MARKET_ENTITY,
        SERVICE_CASE,
        SERVICE_CASE_STEP,
        E_CERTIFICATE,
    )
}
TABLES.update({t.qualified_name: t for t in (SERVICE_EFFICIENCY, SERVICE_BAD_REVIEW)})
