"""Process-wide settings, all from the environment (never from code)."""

from __future__ import annotations

import os
from pathlib import Path

STORE_CONN_ID = "hub_store"
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
