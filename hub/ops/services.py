"""What ``hub up`` starts: the simulators, the Airflow components, the data API, the pools.

Each list is data: adding a simulator or a process is one line. A :class:`Simulator` is either
a database prepared on the embedded server (``prepare``) or a server process (``module``), and
is always reached by the DAGs through its Airflow connection.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Simulator:
    """A department system simulated on this machine.

    Attributes:
        name: Process/pid-file name.
        conn_id: The Airflow connection the hub reaches it by.
        prepare: ``module:function(admin_uri) -> AIRFLOW_CONN JSON`` for a database simulator on
            the embedded server (created and generated once, kept afterwards).
        module: ``python -m <module> --host 127.0.0.1 --port <port>`` for a server simulator.
        port_env: Environment variable choosing its port (server simulators).
        default_port: Its port when ``port_env`` is unset.
        conn_template: ``AIRFLOW_CONN`` value of a server simulator, ``{port}`` filled in.
    """

    name: str
    conn_id: str
    prepare: str | None = None
    module: str | None = None
    port_env: str | None = None
    default_port: int | None = None
    conn_template: str | None = None


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
    """

    name: str
    argv: tuple[str, ...]
    port_env: str | None = None
    default_port: int | None = None
    requires_module: str | None = None


SIMULATORS: tuple[Simulator, ...] = (
    Simulator(name="sim_ga", conn_id="ga_population", prepare="hub.ops.simulators:prepare_ga_population"),
)

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

APPLICATION_PROCESSES: tuple[Process, ...] = (
    Process(
        "data-api",
        ("python", "-m", "uvicorn", "hub.api.app:app", "--host", "{host}", "--port", "{port}"),
        port_env="HUB_API_PORT",
        default_port=8000,
        requires_module="hub.api.app",
    ),
)

# name -> (slots, description)
POOLS: dict[str, tuple[int, str]] = {
    "provincial_push": (2, "Pushes to the provincial platform (it rate-limits per city)"),
    "department_sources": (4, "Concurrent reads against department systems"),
}
