"""``hub up`` / ``hub down``: the whole stack on one machine, every process by pid.

``up`` starts the embedded store (if it is not running), prepares the department systems when
given a ``sources`` hook (``python -m devkit up`` passes the simulators'; the product knows none:
without it the sources' connections come from the environment), migrates
the store and Airflow's metadata (database ``airflow`` on the embedded server), imports the
pools, starts the Airflow api-server, scheduler (LocalExecutor), dag-processor and triggerer
and, when it exists, the data API, then waits until the api-server lists every DAG without
import errors. Everything listens on 127.0.0.1 only; ports come from the environment. The
devkit's simulators include the provincial platform, with the connections ``provincial_platform`` and
``certificate_signer`` (a generated SM2 key pair, kept mode 0600). With ``executor="celery"`` a
Redis broker and two Celery workers replace the LocalExecutor. The environment of the Airflow
processes is written to ``$HUB_HOME/run/airflow.env`` for ``hub airflow …``.

``down`` stops what ``up`` started: each process with its process group and descendants, and
the embedded store if ``up`` started it. Pid files live in ``$HUB_HOME/run``, logs in
``$HUB_HOME/logs``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.connections import postgres_connection_json
from hub import airflow_env
from hub.deployment import pools_import_json
from hub.ops import procs, progress
from hub.ops.airflow_cli import env_file, write_env_file
from hub.ops.procs import StackError
from hub.ops.services import AIRFLOW_PROCESSES, APPLICATION_PROCESSES, CELERY_PROCESSES, EXECUTORS, Process
from hub.settings import HUB_DATABASE, PROJECT_ROOT, dags_folder, hub_home
from hub.store import embedded
from hub.store.embedded import socket_dir_of
from hub.store.migrate import migrate
from hub.store.roles import provision_api_login

HOST = "127.0.0.1"
STORE_MARKER = "store.started"

# Prepares the department systems the stack reads: given $HUB_HOME and the embedded server's admin
# URI, returns the AIRFLOW_CONN_* values that reach them (devkit.simulate.up, for one).
Sources = Callable[[Path, str], Mapping[str, str]]


@dataclass
class StackInfo:
    """What ``hub up`` started and where to reach it."""

    home: str
    api_url: str
    executor: str = "local"
    processes: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    dags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (written to ``$HUB_HOME/run/stack.json``)."""
        return dict(self.__dict__)


def run_dir(home: Path | None = None) -> Path:
    """``$HUB_HOME/run``: pid files and ``stack.json``."""
    return (home or hub_home()) / "run"


def log_dir(home: Path | None = None) -> Path:
    """``$HUB_HOME/logs``: one log per process."""
    return (home or hub_home()) / "logs"


def port_of(proc: Process) -> int | None:
    """The port ``proc`` listens on: ``$<port_env>`` or its default."""
    if proc.port_env is None:
        return None
    return int(os.environ.get(proc.port_env, proc.default_port or 0))


def _persistent_secret(home: Path, name: str, generate: Any) -> str:
    """A random secret kept in ``$HUB_HOME/airflow/secrets/<name>`` (mode 0600), created once."""
    path = home / "airflow" / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(generate())
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _celery_env(home: Path, redis_port: int) -> dict[str, str]:
    """CeleryExecutor settings: the Redis broker (password in its 0600 config) and the result backend."""
    password = _persistent_secret(home, "redis_password", lambda: secrets.token_urlsafe(32))
    conf = run_dir(home) / "redis.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            f"bind {HOST}\nport {redis_port}\nrequirepass {password}\nprotected-mode yes\n"
            f'save ""\nappendonly no\ndir {run_dir(home)}\n'
        )
    metadata = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{password}@{HOST}:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    }


def stack_env(
    home: Path, admin_uri: str, api_port: int, executor: str = "local", redis_port: int = 0
) -> dict[str, str]:
    """The environment of every stack process (values already in the environment win, but the executor)."""
    os.environ["HUB_HOME"] = str(home)
    airflow_env.configure(airflow_env.embedded_metadata_uri(admin_uri), home=home)
    api = f"http://{HOST}:{api_port}"
    defaults = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        # One api-server worker on a small machine answers slowly under load; the default 5 s
        # made task supervisors give up on it and fail their tasks.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__CORE__FERNET_KEY": _persistent_secret(home, "fernet_key", _fernet_key),
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__SECRET_KEY": _persistent_secret(home, "api_secret_key", lambda: secrets.token_urlsafe(32)),
        "AIRFLOW__API_AUTH__JWT_SECRET": _persistent_secret(home, "jwt_secret", lambda: secrets.token_urlsafe(32)),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW_CONN_HUB_STORE": postgres_connection_json(socket_dir_of(admin_uri), HUB_DATABASE),
        # the data API's least-privilege role (migration 0810) and the audit checkpoint key, kept out of the store
        "AIRFLOW_CONN_HUB_STORE_API": json.dumps(
            {
                "conn_type": "postgres",
                "host": socket_dir_of(admin_uri),
                "login": f"{HUB_DATABASE}__api",
                "password": _persistent_secret(home, "store_api_password", lambda: secrets.token_urlsafe(32)),
                "schema": HUB_DATABASE,
            }
        ),
        # the data API's keys: one cursor key for every API process, the audit digest key out of the store
        "HUB_API_CURSOR_KEY": _persistent_secret(home, "api_cursor_key", lambda: secrets.token_hex(32)),
        # uvicorn worker processes of the data API: about one per core (hub.api.server)
        "HUB_API_WORKERS": str(min(2, os.cpu_count() or 1)),
        "AIRFLOW_CONN_HUB_AUDIT_DIGEST": json.dumps(
            {
                "conn_type": "generic",
                "password": _persistent_secret(home, "audit_digest_key", lambda: secrets.token_hex(32)),
            }
        ),
        "AIRFLOW_CONN_AUDIT_CHECKPOINT": json.dumps(
            {
                "conn_type": "generic",
                "password": _persistent_secret(home, "audit_checkpoint_key", lambda: secrets.token_urlsafe(48)),
            }
        ),
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    if executor == "celery":
        os.environ.update(_celery_env(home, redis_port))
    return dict(os.environ)


def _check_ports(wanted: dict[str, tuple[str, int]]) -> None:
    seen: dict[int, str] = {}
    for name, (env_var, port) in wanted.items():
        if port in seen:
            raise StackError(f"{name} and {seen[port]} both want port {port}; set {env_var}")
        seen[port] = name
        if not procs.port_free(HOST, port):
            raise StackError(f"port {HOST}:{port} for {name} is in use; set {env_var} to a free port")


def _argv(proc: Process, port: int | None, rdir: Path) -> list[str]:
    if proc.system:
        head = shutil.which(proc.argv[0])
        if head is None:
            raise StackError(f"{proc.name} needs {proc.argv[0]} on PATH (Debian: apt-get install {proc.argv[0]})")
    else:
        head = str(Path(sys.executable).parent / proc.argv[0]) if proc.argv[0] != "python" else sys.executable
    return [head, *(a.format(host=HOST, port=port, run=rdir) for a in proc.argv[1:])]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def import_pools(env: dict[str, str], work_dir: Path) -> None:
    """Create or update the pools of :data:`hub.deployment.POOLS` with ``airflow pools import``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    pools_file = work_dir / "pools.json"
    pools_file.write_text(pools_import_json())
    airflow = str(Path(sys.executable).parent / "airflow")
    result = subprocess.run([airflow, "pools", "import", str(pools_file)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"airflow pools import failed: {result.stderr[-2000:]}")


def _wait_for_api(api_url: str, timeout: float) -> None:
    import requests

    procs.wait_until(
        lambda: requests.get(f"{api_url}/api/v2/monitor/health", timeout=5).ok,
        timeout,
        f"the Airflow api-server at {api_url}",
    )


def listed_dags(api_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The DAG ids the api-server lists and its DAG import errors."""
    import requests

    dags = requests.get(f"{api_url}/api/v2/dags", params={"limit": 1000}, timeout=10).json()["dags"]
    errors = requests.get(f"{api_url}/api/v2/importErrors", timeout=10).json()["import_errors"]
    return sorted(d["dag_id"] for d in dags), errors


def expected_dags() -> list[str]:
    """Every DAG id the project's DAG folder defines (parsed here, as the dag-processor does)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder()))
    if bag.import_errors:
        raise StackError(f"DAG import errors: {sorted(bag.import_errors)}")
    return sorted(bag.dag_ids)


def _start(
    home: Path,
    ports: dict[str, tuple[str, int]],
    processes: list[Process],
    skipped: list[str],
    bar: progress.Steps,
    executor: str,
    sources: Sources | None = None,
) -> StackInfo:
    """Store, the sources (if given), migrations, pools, then every process; returns what was started."""
    rdir, ldir = run_dir(home), log_dir(home)
    bar.advance("starting the embedded store")
    if not embedded.status(home).running:
        (rdir / STORE_MARKER).write_text("started by hub up\n")
    admin = embedded.start(home)
    api_port = ports["airflow-api-server"][1]
    stack_env(home, admin, api_port, executor, ports.get("redis", ("", 0))[1])
    if sources is not None:
        bar.advance("preparing the department systems")
        for key, value in sources(home, admin).items():
            os.environ.setdefault(key, value)  # an operator's own connection wins
    env = dict(os.environ)
    bar.advance("migrating the shared store")
    store = embedded.ensure_database(admin, HUB_DATABASE)
    migrate(store)
    provision_api_login(store)  # the data API connects as <db>__api with the password of stack_env
    bar.advance("migrating Airflow's metadata")
    airflow_env.migrate_metadata()
    bar.advance("importing the pools")
    import_pools(env, rdir)
    write_env_file(env, home)
    bar.advance("starting the processes")
    started: dict[str, int] = {}
    for proc in processes:
        started[proc.name] = procs.spawn(proc.name, _argv(proc, port_of(proc), rdir), env, rdir, ldir, PROJECT_ROOT)
    info = StackInfo(
        home=str(home),
        api_url=f"http://{HOST}:{api_port}",
        executor=executor,
        processes=started,
        ports={k: v[1] for k, v in ports.items()},
        skipped=skipped,
    )
    (rdir / "stack.json").write_text(json.dumps(info.to_json(), indent=2))
    return info


def _wait_for_dags(api_url: str, timeout: float) -> list[str]:
    want = expected_dags()

    def all_listed() -> bool:
        listed, errors = listed_dags(api_url)
        if errors:
            raise StackError(f"DAG import errors: {[e.get('filename') for e in errors]}")
        return set(want) <= set(listed)

    procs.wait_until(all_listed, timeout, f"the api-server to list {want}", interval=3.0)
    return want


def up(
    home: Path | None = None,
    timeout: float = 300.0,
    wait_dags: bool = True,
    executor: str = "local",
    sources: Sources | None = None,
) -> StackInfo:
    """Bring the stack up (see the module docs).

    Args:
        home: ``$HUB_HOME``.
        timeout: Seconds to wait for the api-server and for the DAGs to be listed.
        wait_dags: Wait until the api-server lists every DAG.
        executor: ``local`` (LocalExecutor) or ``celery`` (a Redis broker and two Celery workers).
        sources: Prepares the department systems and returns their connections (``python -m devkit
            up`` passes the simulators'); without it they come from the environment.

    Raises:
        StackError: if it is already up, a port is taken, or a part does not come up in time.
    """
    if executor not in EXECUTORS:
        raise StackError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    home = (home or hub_home()).resolve()
    rdir = run_dir(home)
    rdir.mkdir(parents=True, exist_ok=True)
    alive = procs.running(rdir)
    if alive:
        raise StackError(f"the stack at {home} is already up ({', '.join(alive)}); run `hub down` first")

    present = [p for p in APPLICATION_PROCESSES if p.requires_module is None or _importable(p.requires_module)]
    skipped = [p.name for p in APPLICATION_PROCESSES if p not in present]
    processes = [*AIRFLOW_PROCESSES, *(CELERY_PROCESSES if executor == "celery" else ()), *present]
    ports = {p.name: (p.port_env or "", port) for p in processes if (port := port_of(p)) is not None}
    _check_ports(ports)

    try:
        with progress.steps("hub up", 6 + (sources is not None)) as bar:
            info = _start(home, ports, processes, skipped, bar, executor, sources)
            bar.advance("waiting for the api-server and the DAGs")
            _wait_for_api(info.api_url, timeout)
            if wait_dags:
                info.dags = _wait_for_dags(info.api_url, timeout)
    except BaseException:  # whatever went wrong, leave nothing running behind
        down(home)
        raise
    (rdir / "stack.json").write_text(json.dumps(info.to_json(), indent=2))
    return info


def down(home: Path | None = None) -> list[str]:
    """Stop everything ``up`` started (processes by pid file, then the store if ``up`` started it).

    Returns:
        The names of what was stopped.
    """
    home = (home or hub_home()).resolve()
    rdir = run_dir(home)
    stopped = []
    # The api-server last: the scheduler's running tasks talk to it while they shut down.
    names = sorted((p.stem for p in rdir.glob("*.pid")), key=lambda n: n == "airflow-api-server")
    for name in names:
        if procs.stop(name, rdir):
            stopped.append(name)
    marker = rdir / STORE_MARKER
    if marker.exists():
        if embedded.stop(home):
            stopped.append("store")
        marker.unlink()
    (rdir / "stack.json").unlink(missing_ok=True)
    env_file(home).unlink(missing_ok=True)
    return stopped
