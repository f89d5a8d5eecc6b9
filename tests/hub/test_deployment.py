"""Every pool a task names and every connection the code names is declared once, and the
deployment files (``.env.example``, ``docker-compose.yml``) provide each of them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

import yaml

from hub.deployment import CONNECTIONS, POOLS, ConnectionSpec, connection_ids, connections, pool_names
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


def _env_example_vars(env_example: str) -> set[str]:
    """Variables ``.env.example`` sets or shows (``NAME=`` or a commented ``# NAME=``)."""
    return {line.lstrip("# ").split("=", 1)[0] for line in env_example.splitlines() if "=" in line}


def not_provided(connections: Iterable[ConnectionSpec], env_example: str, compose: dict) -> list[str]:
    """One message per declared connection that ``.env.example`` or compose's common environment lacks.

    Compose must also read the variable from ``.env`` (``${AIRFLOW_CONN_X:-default}`` or
    ``${AIRFLOW_CONN_X:?...}``): a value written into the file would ignore what an operator sets.
    """
    common = compose["x-airflow-common"]["environment"]
    files = {".env.example": _env_example_vars(env_example), "docker-compose.yml x-airflow-common": set(common)}
    missing = []
    for conn in connections:
        absent = [name for name, provided in files.items() if conn.env_var not in provided]
        if absent:
            missing.append(f"{conn.env_var} ({conn.purpose}) is missing from {' and from '.join(absent)}")
        elif not re.match(r"\$\{" + conn.env_var + r"(:?[-?]|\})", str(common[conn.env_var])):
            missing.append(f"docker-compose.yml x-airflow-common sets {conn.env_var} without reading it from .env")
    return missing


def _deployment_files() -> tuple[str, dict]:
    env_example = (PROJECT_ROOT / ".env.example").read_text()
    return env_example, yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


def test_env_example_and_compose_provide_every_connection() -> None:
    """A source added to the registry without its AIRFLOW_CONN_* in both files fails here, named."""
    assert not_provided(connections(), *_deployment_files()) == []


def test_a_connection_compose_hard_codes_is_named() -> None:
    """A newcomer who writes the source's URI into compose (no ``${...}``) is told .env cannot override it."""
    env_example, compose = _deployment_files()
    spec = next(c for c in connections() if c.conn_id == "ga_population")
    compose["x-airflow-common"]["environment"][spec.env_var] = "postgresql://reader:x@sim-db:5432/sim_ga"
    assert not_provided([spec], env_example, compose) == [
        "docker-compose.yml x-airflow-common sets AIRFLOW_CONN_GA_POPULATION without reading it from .env"
    ]


def test_env_example_and_compose_name_no_undeclared_connection() -> None:
    """A source removed from the registry (or renamed) leaves no stale AIRFLOW_CONN_* behind."""
    env_example, compose = _deployment_files()
    named = _env_example_vars(env_example) | set(compose["x-airflow-common"]["environment"])
    declared = {c.env_var for c in connections()}
    assert {v for v in named if v.startswith("AIRFLOW_CONN_")} - declared == set()


def test_the_pools_file_hub_up_imports_is_the_declaration() -> None:
    import json

    from hub.deployment import pools_import_json

    pools = json.loads(pools_import_json())
    assert {name: p["slots"] for name, p in pools.items()} == {p.name: p.slots for p in POOLS}
