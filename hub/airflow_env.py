"""A local Airflow for the demo and the tests.

Its home is under ``$HUB_HOME``, its metadata in the embedded PostgreSQL (database
``airflow``), its DAG folder the project's, with no examples.

Airflow reads its configuration when first imported, so :func:`configure` must run before
anything imports ``airflow``. Values already in the environment win: an operator's settings
are never overridden.

Lineage: the OpenLineage provider emits an event for every task; by default they are appended
to ``$HUB_HOME/lineage/openlineage.jsonl`` (file transport; ``HUB_LINEAGE_FILE`` moves it).
Set ``AIRFLOW__OPENLINEAGE__TRANSPORT`` to send them elsewhere (e.g. ``{"type": "http", ...}``
to Marquez) or ``AIRFLOW__OPENLINEAGE__DISABLED=true`` to turn them off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hub.settings import dags_folder, hub_home, plugins_folder
from hub.store.embedded import ensure_database, socket_dir_of

LINEAGE_NAMESPACE = "sharehub-640100"


def lineage_file(home: Path | None = None) -> Path:
    """Where OpenLineage events go by default (``$HUB_LINEAGE_FILE``, else under ``$HUB_HOME``)."""
    path = Path(os.environ.get("HUB_LINEAGE_FILE") or (home or hub_home()) / "lineage" / "openlineage.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def configure(metadata_uri: str | None = None, home: Path | None = None) -> Path:
    """Set the Airflow environment for this process and its children; return ``AIRFLOW_HOME``.

    Args:
        metadata_uri: SQLAlchemy URI of Airflow's metadata database; SQLite under the home
            when omitted.
        home: ShareHub home (defaults to ``$HUB_HOME``).
    """
    airflow_home = Path(os.environ.setdefault("AIRFLOW_HOME", str((home or hub_home()) / "airflow")))
    airflow_home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_uri or f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": LINEAGE_NAMESPACE,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lineage_file(home)), "append": True}
        ),
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    return airflow_home


def embedded_metadata_uri(admin_uri: str) -> str:
    """SQLAlchemy URI of an ``airflow`` database on the embedded server (created if missing)."""
    ensure_database(admin_uri, "airflow")
    return f"postgresql+psycopg2://postgres@/airflow?host={socket_dir_of(admin_uri)}"


def migrate_metadata() -> None:
    """Run ``airflow db migrate`` for the configured metadata database (idempotent)."""
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy())
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
