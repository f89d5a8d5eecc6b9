"""# Ingest DAGs, one per department source.

Generated from the source registry (`hub/registry.py`): each source system is declared there
once, with its Airflow connection, connector, mapping, target table and schedule.

Each run reads the source from its committed cursor, maps every record to the standard
shared table, validates it against the national standards and loads it in one transaction
with its ledger row and the cursor. Rows that fail a rule go to `quarantine.record` with the
rule and a readable reason. Re-running a run repeats the same window and changes nothing.
"""

from __future__ import annotations

from airflow.sdk import DAG

from hub.dag_factory import build_ingest_dag
from hub.registry import SOURCES

# one DAG per source; Airflow registers each (auto_register), see hub.dag_builder
dags: list[DAG] = [build_ingest_dag(spec, __doc__) for spec in SOURCES]
