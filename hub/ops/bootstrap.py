"""``python -m hub.ops.bootstrap``: one-shot setup of a deployment (the ``airflow-init`` service).

Migrates the shared store (the ``hub_store`` connection) and Airflow's metadata database (with
the FAB auth manager's tables), creates the pools of :data:`hub.deployment.POOLS`, and, when the
UI runs the FAB auth manager, the administrator named by ``AIRFLOW_ADMIN_USER`` with the
password ``AIRFLOW_ADMIN_PASSWORD``. Idempotent: run it again after every upgrade (an existing
administrator keeps the password it has).
"""

from __future__ import annotations

import os

from connectors.connections import ConnectionNotDefinedError
from hub import airflow_env
from hub.deployment import create_pools, pool_names
from hub.settings import STORE_CONN_ID
from hub.store.connection import store_uri, uses_embedded
from hub.store.migrate import migrate

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
ADMIN_ROLE = "Admin"


def uses_fab() -> bool:
    """Whether Airflow is configured with the FAB auth manager."""
    from airflow.configuration import conf

    return conf.get("core", "auth_manager") == FAB_AUTH_MANAGER


def ensure_admin(username: str, password: str) -> bool:
    """Create the FAB user ``username`` with the Admin role unless it exists; return whether it was created.

    In-process rather than ``airflow users create --password``, so the password never shows
    on a command line.
    """
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        if security.find_user(username=username):
            return False
        role = security.find_role(ADMIN_ROLE)
        user = security.add_user(username, "ShareHub", "Administrator", f"{username}@sharehub.invalid", role, password)
        if not user:
            raise SystemExit(f"could not create the Airflow administrator {username!r} (see the log above)")
    return True


def main() -> int:
    """Migrate the store and Airflow's metadata, create the pools and the administrator; print what was done."""
    if uses_embedded():
        raise SystemExit(f"{ConnectionNotDefinedError(STORE_CONN_ID, 'the shared store')} (see .env.example)")
    fab = uses_fab()
    username, password = os.environ.get("AIRFLOW_ADMIN_USER") or "admin", os.environ.get("AIRFLOW_ADMIN_PASSWORD")
    if fab and not password:
        raise SystemExit("AIRFLOW_ADMIN_PASSWORD is not set: the Airflow administrator needs one (see .env.example)")
    applied = migrate(store_uri())
    print("store: " + (", ".join(applied) if applied else "current"))
    airflow_env.migrate_metadata()
    print("airflow metadata: migrated")
    create_pools()
    print("pools: " + ", ".join(sorted(pool_names())))
    if fab:
        created = ensure_admin(username, password or "")
        print(f"administrator {username}: " + ("created" if created else "exists, password unchanged"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
