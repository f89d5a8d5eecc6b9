"""docker-compose.yml validates against the Compose schema and names only what exists; broken copies are caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from hub.ops.compose_check import SCHEMA, check, interpolate
from hub.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_the_vendored_schema_is_the_compose_spec() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    assert "service" in schema["definitions"] and "ports" in schema["definitions"]["service"]["properties"]


def test_the_compose_file_validates_and_cross_checks(compose) -> None:
    assert check(COMPOSE) == []
    services = compose["services"]
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    assert {"airflow-worker", "redis", "airflow-db", "hub-store", "sim-init", "sim-rs", "data-api"} <= set(services)
    assert compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # so --scale works


def test_a_missing_module_is_caught(compose, tmp_path) -> None:
    doc = copy.deepcopy(compose)
    doc["services"]["airflow-init"]["command"] = ["python", "-m", "hub.ops.no_such_module"]
    assert check(_write(tmp_path, doc)) == [
        "service airflow-init: module hub.ops.no_such_module does not exist in the project"
    ]


def test_a_clashing_host_port_is_caught(compose, tmp_path) -> None:
    doc = copy.deepcopy(compose)
    doc["services"]["sim-init"]["ports"] = ["${AIRFLOW_API_PORT:-8080}:9000"]
    assert check(_write(tmp_path, doc)) == ["host port 8080 is published by both airflow-apiserver and sim-init"]


def test_a_schema_violation_is_caught(compose, tmp_path) -> None:
    doc = copy.deepcopy(compose)
    doc["services"]["redis"]["restart_policy"] = "always"
    problems = check(_write(tmp_path, doc))
    assert len(problems) == 1 and problems[0].startswith("schema: services/redis:")
    assert "restart_policy" in problems[0]


def test_a_missing_connection_undeclared_volume_and_unknown_service_are_caught(compose, tmp_path) -> None:
    doc = copy.deepcopy(compose)
    del doc["x-airflow-common"]["environment"]["AIRFLOW_CONN_GA_POPULATION"]
    for name in ("airflow-scheduler", "airflow-worker"):
        doc["services"][name]["environment"] = {
            k: v for k, v in doc["x-airflow-common"]["environment"].items() if k != "AIRFLOW_CONN_GA_POPULATION"
        }
    doc["services"]["airflow-scheduler"]["volumes"] = ["dag-cache:/cache", "./no_such_dir:/x"]
    doc["services"]["airflow-triggerer"]["depends_on"] = {"ghost": {"condition": "service_started"}}
    doc["services"]["airflow-dag-processor"]["environment"] = {
        **doc["x-airflow-common"]["environment"],
        "AIRFLOW_CONN_GA_POPULATION": "postgresql://reader:x@ga-db-typo:5432/sim_ga",
    }
    problems = check(_write(tmp_path, doc))
    assert "service airflow-scheduler: connection ga_population (AIRFLOW_CONN_GA_POPULATION) is not defined" in problems
    assert "service airflow-scheduler: volume dag-cache is not declared" in problems
    assert "service airflow-scheduler: bind mount ./no_such_dir does not exist" in problems
    assert "service airflow-triggerer: depends on ghost, which is no service" in problems
    assert (
        "service airflow-dag-processor: AIRFLOW_CONN_GA_POPULATION points at host 'ga-db-typo', which is no service"
        in problems
    )


def test_an_undocumented_variable_and_an_unknown_airflow_command_are_caught(compose, tmp_path) -> None:
    doc = copy.deepcopy(compose)
    doc["services"]["airflow-triggerer"]["command"] = ["airflow", "trigger-er"]
    doc["services"]["airflow-apiserver"]["ports"] = ["${NOT_DOCUMENTED_PORT:-8081}:8080"]
    assert check(_write(tmp_path, doc)) == [
        "service airflow-triggerer: `airflow trigger-er` is not an Airflow command here",
        "variable NOT_DOCUMENTED_PORT is not documented in .env.example",
    ]


def test_the_dockerfile_copies_only_what_exists(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nCOPY hub hub\nCOPY gone gone\n")
    (tmp_path / "hub").mkdir()
    from hub.ops.compose_check import _dockerfile_problems

    assert _dockerfile_problems(tmp_path, ".") == ["Dockerfile copies gone, which does not exist"]


def test_interpolation_follows_compose() -> None:
    seen: set[str] = set()
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("${A}-${B:-two}-${EMPTY:-d}-${EMPTY-d}-$$HOME", env, seen) == "1-two-d-x-$HOME"
    assert interpolate("${X:-a${A}b}", env, seen) == "a1b"
    assert seen == {"A", "B", "EMPTY", "X"}
