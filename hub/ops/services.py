"""What ``hub up`` starts besides the store: the Airflow components and the data API.

Each list is data: adding a process is one line. The department simulators are not the product's:
``python -m devkit up`` hands them to ``hub up`` as its sources (:mod:`devkit.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    """A long-running process of the stack.

    Attributes:
        name: Process/pid-file name.
        argv: Arguments after the interpreter's ``bin`` directory: ``argv[0]`` is an executable in
            the venv (``airflow``, ``python``); ``{port}`` and ``{host}`` are filled in.
        port_env: Environment variable choosing its port, if it listens.
        default_port: Its port when ``port_env`` is unset.
        requires_module: Start only when this module is importable (parts built in parallel).
        system: ``argv[0]`` is a system program found on ``PATH`` (e.g. ``redis-server``), not
            one of the venv's.
    """

    name: str
    argv: tuple[str, ...]
    port_env: str | None = None
    default_port: int | None = None
    requires_module: str | None = None
    system: bool = False


AIRFLOW_PROCESSES: tuple[Process, ...] = (
    Process(
        "airflow-api-server",
        ("airflow", "api-server", "--host", "{host}", "--port", "{port}", "--workers", "1"),
        port_env="HUB_AIRFLOW_PORT",
        default_port=8080,
    ),
    # --skip-serve-logs: the log servers would bind every interface; with LocalExecutor the
    # api-server reads the task logs from the local files anyway.
    Process("airflow-scheduler", ("airflow", "scheduler", "--skip-serve-logs")),
    Process("airflow-dag-processor", ("airflow", "dag-processor")),
    Process("airflow-triggerer", ("airflow", "triggerer", "--skip-serve-logs")),
)

EXECUTORS = ("local", "celery")

# ``hub up --executor celery``: the multi-machine layout of docker-compose.yml on one machine, a
# Redis broker (the distribution's redis-server; its password is in the config file ``{run}``
# holds) and two Celery workers sharing the GX home and Data Docs under $HUB_HOME.
CELERY_PROCESSES: tuple[Process, ...] = (
    Process("redis", ("redis-server", "{run}/redis.conf"), port_env="HUB_REDIS_PORT", default_port=6379, system=True),
    *(
        Process(
            f"airflow-celery-worker-{n}",
            ("airflow", "celery", "worker", "--celery-hostname", f"worker{n}@%h", "--skip-serve-logs"),
        )
        for n in (1, 2)
    ),
)

APPLICATION_PROCESSES: tuple[Process, ...] = (
    Process(
        "data-api",
        ("hub", "api", "serve", "--host", "{host}", "--port", "{port}"),
        port_env="HUB_API_PORT",
        default_port=8000,
        requires_module="hub.api.app",
    ),
)
