"""# Derive e-certificates and case records (电子证照 · 办件).

Runs whenever `shared.market_entity`, `shared.social_insurance` or `shared.service_case` is
updated (their ingest DAGs emit those Assets).

- `derive_certificates`: a 营业执照 per market entity and a 社会保障卡 per issued card, with a
  GB/T 36904 identifier and the issuer's SM2 signature (key: connection `certificate_signer`);
  a change of face or status (吊销 → REVOKED, 注销 → CANCELLED) is a new version.
- `derive_cases`: a case record version for every raised `service_case.version`.

Every new version is written to `hub.push_outbox` in the same transaction that creates it;
`push_provincial` delivers it.
"""

from __future__ import annotations

from airflow.sdk import DAG, task

from hub.dag_factory import DEFAULT_ARGS, START_DATE
from hub.push.assets import CASES_ASSET, CERTIFICATES_ASSET, SOURCE_ASSETS

with DAG(
    dag_id="derive_certificates",
    schedule=SOURCE_ASSETS[0] | SOURCE_ASSETS[1] | SOURCE_ASSETS[2],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["sharehub", "push", "province"],
) as dag:

    @task(task_id="derive_certificates", outlets=[CERTIFICATES_ASSET])
    def derive_certificates(run_id: str | None = None) -> dict:
        """New certificate versions and their outbox rows."""
        from hub.push.tasks import derive_certificates_task

        return derive_certificates_task(run_id or "manual")

    @task(task_id="derive_cases", outlets=[CASES_ASSET])
    def derive_cases() -> dict:
        """New case record versions (outbox rows)."""
        from hub.push.tasks import derive_cases_task

        return derive_cases_task()

    derive_certificates()
    derive_cases()
