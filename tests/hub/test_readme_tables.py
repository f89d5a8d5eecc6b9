"""The README's DAG and connection tables say what the code does: every DAG and connection, no other."""

from __future__ import annotations

import re
import tomllib

import pytest

from hub.deployment import CONNECTIONS
from hub.registry import SOURCES
from hub.settings import PROJECT_ROOT, dags_folder


def _table_after(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after ``heading`` (header and rule rows dropped)."""
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows[2:]


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(dags_folder()))


def _schedule_terms(dag) -> set[str]:
    """The cron expressions, presets and asset names a DAG's schedule is made of."""
    if isinstance(dag.schedule, str):
        return {dag.schedule}
    text = repr(dag.schedule)
    return set(re.findall(r"name='([^']+)'", text)) | set(re.findall(r"expression='([^']+)'", text))


def test_the_dag_table_lists_every_dag_with_its_file_and_schedule(dagbag) -> None:
    rows = {_code(r[0])[0]: r for r in _table_after("### The DAGs")}
    assert set(rows) == set(dagbag.dag_ids), "README's DAG table differs from the DAGs in dags/"
    for dag_id, (_, file, schedule, _what) in rows.items():
        dag = dagbag.dags[dag_id]
        assert _code(file) == [dag.fileloc.rsplit("/", 1)[-1]], dag_id
        assert _schedule_terms(dag) <= set(_code(schedule)), f"{dag_id}: schedule cell {schedule!r}"


def test_the_dag_table_names_each_sources_tables() -> None:
    rows = {_code(r[0])[0]: r for r in _table_after("### The DAGs")}
    for spec in SOURCES:
        assert set(spec.tables) <= set(_code(rows[spec.dag_id][3])), spec.dag_id


def test_the_connection_table_lists_every_declared_connection() -> None:
    rows = {_code(r[0])[0]: r for r in _table_after("### Connections and secrets")}
    assert set(rows) == {c.conn_id for c in CONNECTIONS}, "README's connection table differs from hub/deployment.py"
    for conn_id, (_, _what, example) in rows.items():
        assert example.startswith(f"`AIRFLOW_CONN_{conn_id.upper()}="), conn_id


def _layout_section() -> list[str]:
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("## How data flows")
    end = lines.index("### What the hub guarantees for every batch")
    return lines[start:end]


def test_the_layout_section_names_every_top_level_package_and_no_other() -> None:
    named = {m.group(1) for line in _layout_section() if (m := re.match(r"- `([\w-]+)/` — ", line))}
    with_code = {
        p.name
        for p in PROJECT_ROOT.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.py")) and p.name != "build"
    }
    assert named == with_code, "README's layout bullets differ from the top-level directories holding Python code"


def test_the_layers_paragraph_names_the_contracts_layers_in_order() -> None:
    layers = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    bottom = [layer for layer in layers["contracts"][0]["layers"] if "." not in layer and "|" not in layer]
    paragraph = next(line for line in _layout_section() if line.startswith("**Layers.**"))
    text = " ".join(_layout_section()[_layout_section().index(paragraph) :])
    positions = [text.index(f"`{name}/`") for name in ("dags", *bottom)]
    assert positions == sorted(positions), f"the Layers paragraph should name {bottom} in the contract's order"


def test_the_command_table_shows_every_hub_command_and_no_other() -> None:
    import argparse

    from hub.cli import build_parser

    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("## Command line")
    block = lines[lines.index("```", start) + 1 :]
    block = block[: block.index("```")]
    shown = {m.group(1) for line in block for m in re.finditer(r"(?:^|/ )hub ([a-z]+)", line)}
    (subparsers,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert shown == set(subparsers.choices), "README's command table differs from `hub --help`"
