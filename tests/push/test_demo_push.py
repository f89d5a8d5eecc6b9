"""The push part of the demo: the simulator as a child process, the real DAGs, one summary."""

from __future__ import annotations

import pytest

from devkit.demo_push import push_and_reconcile

pytestmark = pytest.mark.e2e


def test_push_and_reconcile_reports_per_kind(airflow_db, store) -> None:
    report = push_and_reconcile()
    assert report["runs"] == {
        "derive_certificates": "success",
        "push_provincial": "success",
        "reconcile_provincial": "success",
    }
    assert report["filled"] == {"market_entity": 200, "social_insurance": 200, "service_case": 300}
    assert report["push"]["certificates"] == {"sent": 400, "accepted": 400, "duplicate": 0, "rejected": 0, "pending": 0}
    # 300 cases, 100 of them already at version 2 when derived: 300 case record versions
    assert report["push"]["cases"] == {"sent": 300, "accepted": 300, "duplicate": 0, "rejected": 0, "pending": 0}
    assert report["reconciliation"] == {"certificates": "matched", "cases": "matched"}
