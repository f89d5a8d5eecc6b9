"""# Audit checkpoint: sign the access audit chain's head, outside the store.

First the reads the departments' SQL views recorded are appended to the audit (`sql.read`).
Every 5 minutes the head of `access.audit` (sequence number + SM3 hash) is signed with
HMAC-SM3 under the key of the connection `audit_checkpoint` (not in the database) and appended
to `$HUB_HOME/audit/checkpoints.jsonl`. `hub audit verify` checks that every checkpoint still
matches the chain, so even the store's superuser cannot rewrite, cut or empty the audit
unnoticed up to the last checkpoint.
"""

from __future__ import annotations

from airflow.sdk import DAG

from hub.access.checkpoint_dag import build_audit_checkpoint_dag

dag: DAG = build_audit_checkpoint_dag(__doc__)
