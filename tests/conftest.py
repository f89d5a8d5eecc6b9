"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh database per test,
and a local Airflow whose metadata lives in that server.

The environment is set up at import time, before any test module imports Airflow (Airflow
reads its configuration on first import).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="sharehub-test-"))
os.environ["HUB_HOME"] = str(_HOME)
for _key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_") or k.startswith("AIRFLOW__")]:
    del os.environ[_key]
os.environ.pop("AIRFLOW_HOME", None)
os.environ.pop("HUB_FAILPOINTS", None)

from hub import airflow_env  # noqa: E402
from hub.store import embedded  # noqa: E402

ADMIN_URI = embedded.start(_HOME)
airflow_env.configure(airflow_env.embedded_metadata_uri(ADMIN_URI), home=_HOME)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import sys

    if "airflow.settings" in sys.modules:  # close Airflow's pooled connections before the server goes
        sys.modules["airflow.settings"].dispose_orm()
    embedded.stop(_HOME)
    shutil.rmtree(_HOME, ignore_errors=True)


def fresh_database(prefix: str) -> str:
    """Create an empty database with a unique name; return its URI."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URI, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return embedded.database_uri(ADMIN_URI, name)


def connection_env(uri: str) -> str:
    """The AIRFLOW_CONN_* JSON value for a database URI on the embedded server."""
    from urllib.parse import urlsplit

    from connectors.connections import postgres_connection_json

    return postgres_connection_json(embedded.socket_dir_of(uri), urlsplit(uri).path.lstrip("/"))


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> str:
    """A freshly migrated, empty shared store, also set as the ``hub_store`` connection."""
    from hub.store.migrate import migrate

    uri = fresh_database("store")
    migrate(uri)
    monkeypatch.setenv("AIRFLOW_CONN_HUB_STORE", connection_env(uri))
    return uri


@pytest.fixture
def ga_source(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    """A 公安 simulator database with 4,000 generated persons, set as the ``ga_population`` connection."""
    from simulators.ga import population

    uri = fresh_database("sim_ga")
    manifest = population.create(uri, 4000, seed=7)
    monkeypatch.setenv("AIRFLOW_CONN_GA_POPULATION", connection_env(uri))
    yield uri, manifest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata database, migrated once per session (for ``dag.test()``)."""
    airflow_env.migrate_metadata()
