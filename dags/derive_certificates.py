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

from airflow.sdk import DAG

from hub.push.dags import build_derive_certificates_dag

dag: DAG = build_derive_certificates_dag(__doc__)
