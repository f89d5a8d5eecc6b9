"""Airflow Assets and the pool of the provincial push (cheap to import: DAG files use it)."""

from __future__ import annotations

from airflow.sdk import Asset

from hub.dag_factory import table_asset

CERTIFICATES_ASSET = table_asset("shared.e_certificate")
CASES_ASSET = Asset(name="hub.case_record", uri="postgres://hub-store:5432/sharehub/hub/case_record")
SOURCE_ASSETS = tuple(
    table_asset(t) for t in ("shared.market_entity", "shared.social_insurance", "shared.service_case")
)

# One slot: every task that talks to the platform runs alone, so the client's token bucket
# (20 requests a second) is the whole city's rate.
POOL_NAME = "provincial_platform"
POOL_SLOTS = 1
POOL_DESCRIPTION = "Provincial platform (quota 20 requests/s): one client at a time"
