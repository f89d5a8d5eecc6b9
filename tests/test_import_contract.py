"""The layers hold: imports point down only, production code never imports the simulators or devkit, no file cycles.

The contracts live in pyproject.toml (``[tool.importlinter]``); import-linter checks them on the
import graph grimp builds from the source (imports inside functions included).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from hub.settings import PROJECT_ROOT

_LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"
PRODUCTION = ("dags", "plugins", "hub", "quality", "schemas", "connectors")


def _config() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the tree at ``root`` with its own pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", _LINT_IMPORTS, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_are_kept() -> None:
    result = _lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages and pyproject.toml copied, so a test can break the contract without touching the tree."""
    root = tmp_path_factory.mktemp("tree")
    for name in (*PRODUCTION, "simulators", "devkit"):
        shutil.copytree(PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("connectors/zz_upward.py", "def f():\n    from hub import registry\n", "Layers"),
        ("schemas/zz_upward.py", "import quality.rules\n", "Layers"),
        ("hub/store/zz_upward.py", "from hub.api import app\n", "Layers"),
        ("hub/registry_zz.py", "import simulators.city\n", "never imports the simulators"),
        ("quality/zz_tooling.py", "def f():\n    from devkit import dagrun\n", "nor the demo/test tooling"),
    ],
)
def test_an_upward_import_breaks_the_contract(tree_copy: Path, module: str, line: str, contract: str) -> None:
    path = tree_copy / module
    path.write_text(f'"""A deliberate violation."""\n\n{line}', encoding="utf-8")
    try:
        result = _lint_imports(tree_copy)
    finally:
        path.unlink()
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert module.removesuffix(".py").replace("/", ".") in broken


def test_every_hub_module_has_a_layer() -> None:
    layers = " ".join(_config()["contracts"][0]["layers"])
    named = {m.strip() for m in layers.replace("|", " ").replace(":", " ").replace("\\", " ").split()}
    hub = {
        f"hub.{p.stem}" if p.is_file() else f"hub.{p.name}"
        for p in (PROJECT_ROOT / "hub").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert hub <= named, f"hub modules in no layer of pyproject.toml: {sorted(hub - named)}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import one another (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PRODUCTION, cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
