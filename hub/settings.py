"""Process-wide settings, all from the environment (never from code)."""

from __future__ import annotations

import os
from pathlib import Path

STORE_CONN_ID = "hub_store"
# the data API's least-privilege login to the store (role <db>__api, migration 0810)
API_STORE_CONN_ID = "hub_store_api"
# the key audit checkpoints are signed with (hub/access/checkpoint.py), never in the store
AUDIT_KEY_CONN_ID = "audit_checkpoint"
# the key of the audit's keyed digests of looked-up values (hub/access/digest.py); never in the store
AUDIT_DIGEST_CONN_ID = "hub_audit_digest"
HUB_DATABASE = "sharehub"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def hub_home() -> Path:
    """``$HUB_HOME`` (default ``./.hub``): the embedded store's data, Airflow's home for the demo, reports."""
    return Path(os.environ.get("HUB_HOME", ".hub")).resolve()


def dags_folder() -> Path:
    """The project's DAG folder."""
    return PROJECT_ROOT / "dags"


def plugins_folder() -> Path:
    """The project's Airflow plugins folder (the console, ``plugins/sharehub_console.py``)."""
    return PROJECT_ROOT / "plugins"
