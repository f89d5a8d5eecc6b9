"""``python -m hub.ops.bootstrap``: one-shot setup of a deployment (the ``airflow-init`` service).

Migrates the shared store (the ``hub_store`` connection) and Airflow's metadata database, then
creates the pools. Idempotent: run it again after every upgrade.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def main() -> int:
    """Migrate the store and Airflow's metadata, import the pools; print what was applied."""
    from hub import airflow_env
    from hub.ops.stack import import_pools
    from hub.store.connection import store_uri, uses_embedded
    from hub.store.migrate import migrate

    if uses_embedded():
        raise SystemExit("hub_store is not defined: set AIRFLOW_CONN_HUB_STORE (see .env.example)")
    applied = migrate(store_uri())
    print("store: " + (", ".join(applied) if applied else "current"))
    airflow_env.migrate_metadata()
    print("airflow metadata: migrated")
    import_pools(dict(os.environ), Path(tempfile.mkdtemp(prefix="sharehub-pools-")))
    print("pools: imported")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
