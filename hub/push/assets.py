"""Airflow Assets of the provincial push (cheap to import: DAG files use it)."""

from __future__ import annotations

from airflow.sdk import Asset

from hub.ops.lineage import table_asset

CERTIFICATES_ASSET = table_asset("shared.e_certificate")
CASES_ASSET = Asset(name="hub.case_record", uri="postgres://hub-store:5432/sharehub/hub/case_record")
SOURCE_ASSETS = tuple(
    table_asset(t) for t in ("shared.market_entity", "shared.social_insurance", "shared.service_case")
)
