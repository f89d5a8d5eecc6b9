"""Every pool a task names and every connection the code names is declared once, and the
deployment files (``.env.example``, ``docker-compose.yml``) provide each of them."""

from __future__ import annotations

import ast

import pytest
import yaml

from hub.deployment import CONNECTIONS, POOLS, connection_ids, pool_names
from hub.settings import PROJECT_ROOT

PRODUCTION_PACKAGES = ("hub", "connectors", "quality", "schemas", "dags")


def _conn_ids_named_in_code() -> dict[str, str]:
    """``conn_id`` literals in production code: ``X_CONN_ID = "..."`` and ``conn_id="..."`` arguments."""
    found: dict[str, str] = {}
    for package in PRODUCTION_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    if any(n.endswith("CONN_ID") for n in names) and isinstance(node.value.value, str):
                        found[node.value.value] = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                if isinstance(node, ast.keyword) and node.arg and node.arg.endswith("conn_id"):
                    if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                        found[node.value.value] = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
    return found


def test_every_connection_named_in_code_is_declared() -> None:
    named = _conn_ids_named_in_code()
    assert {"hub_store", "provincial_platform", "certificate_signer"} <= set(named)  # sources: by registry name
    undeclared = {c: where for c, where in named.items() if c not in connection_ids()}
    assert undeclared == {}


def test_every_task_runs_in_a_declared_pool() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert not bag.import_errors
    used = {(dag_id, t.task_id): t.pool for dag_id, dag in bag.dags.items() for t in dag.tasks}
    assert "provincial_platform" in used.values()
    unknown = {k: pool for k, pool in used.items() if pool not in pool_names() | {"default_pool"}}
    assert unknown == {}


def test_pool_and_connection_declarations_are_unique() -> None:
    assert len(pool_names()) == len(POOLS)
    assert len(connection_ids()) == len(CONNECTIONS)


@pytest.mark.parametrize("conn", CONNECTIONS, ids=lambda c: c.conn_id)
def test_env_example_and_compose_provide_every_connection(conn) -> None:
    env_example = (PROJECT_ROOT / ".env.example").read_text()
    assert any(line.lstrip("# ").startswith(conn.env_var) for line in env_example.splitlines()), conn.env_var
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    assert conn.env_var in compose["x-airflow-common"]["environment"], conn.env_var


def test_the_pools_file_hub_up_imports_is_the_declaration() -> None:
    import json

    from hub.deployment import pools_import_json

    pools = json.loads(pools_import_json())
    assert {name: p["slots"] for name, p in pools.items()} == {p.name: p.slots for p in POOLS}
