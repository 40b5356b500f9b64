"""The import structure: no cycle between the packages of app/, and the dictionary and the
connectors stand alone (they never import app/).

Imports are read from the source (``ast``), so an import inside a function counts as much as
one at the top of a module. One under ``if TYPE_CHECKING:`` never runs, so it makes no cycle;
it still ties a stand-alone package to app/, so there it counts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    line: int
    target: str  # the module imported, or the package a name is imported from


def module_names(package: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, path: Path, *, type_checking: bool) -> Iterator[Import]:
    """What ``module`` imports, wherever in it; under ``if TYPE_CHECKING:`` only if asked."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]

    def walk(node: ast.AST) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test) and not type_checking:
                for branch in child.orelse:
                    yield from walk_one(branch)
            else:
                yield from walk_one(child)

    def walk_one(node: ast.AST) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield Import(module, node.lineno, source)
            for alias in node.names:  # ``from app import demo`` imports the module app.demo
                yield Import(module, node.lineno, f"{source}.{alias.name}")
        else:
            yield from walk(node)

    yield from walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))


# -- no cycle between the packages of app/


def node_of(module: str) -> str:
    """A subpackage of app/ is one node; each module directly in app/ is a node of its own.

    app/main.py and app/lifecycle.py assemble every package, and every package uses
    app/errors.py and app/config.py: counted as one package, app/'s own modules would make
    one cycle of everything. Each on its own, a cycle through one of them still shows.
    """
    parts = module.split(".")
    if len(parts) > 1 and (ROOT / "app" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(importer node, imported node) -> where, as ``module:line -> module``."""
    modules = module_names("app")
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in modules.items():
        for found in imports_of(module, path, type_checking=False):
            if found.target not in modules:
                continue  # another library, or a name that is not a module
            edge = (node_of(module), node_of(found.target))
            where = f"{module}:{found.line} -> {found.target}"
            if edge[0] != edge[1] and where not in edges[edge]:
                edges[edge].append(where)
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), sorted."""
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        graph[importer].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe(component: list[str], edges: dict[tuple[str, str], list[str]]) -> str:
    lines = [f"cycle between {', '.join(component)}:"]
    for importer in component:
        for imported in component:
            for where in edges.get((importer, imported), []):
                lines.append(f"    {importer} -> {imported}: {where}")
    return "\n".join(lines)


def test_no_import_cycle_between_the_packages_of_app() -> None:
    edges = package_edges()
    found = cycles(edges)
    assert not found, "import cycles in app/:\n" + "\n".join(describe(c, edges) for c in found)


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    edges = {("a", "b"): ["a"], ("b", "c"): ["b"], ("c", "a"): ["c"], ("c", "d"): ["c"]}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({("a", "b"): ["a"], ("b", "c"): ["b"]}) == []


# -- the dictionary and the connectors never import app/


@pytest.mark.parametrize("package", ["dictionary", "connectors"])
def test_a_stand_alone_package_never_imports_app(package: str) -> None:
    found = [
        f"{i.importer}:{i.line} imports {i.target}"
        for module, path in module_names(package).items()
        for i in imports_of(module, path, type_checking=True)
        if i.target == "app" or i.target.startswith("app.")
    ]
    assert not found, f"{package}/ must not import app/:\n" + "\n".join(found)


@pytest.mark.parametrize("package", ["dictionary", "connectors"])
def test_importing_a_stand_alone_package_loads_nothing_from_app(package: str) -> None:
    """Also at run time (an import the source does not spell, such as importlib's)."""
    probe = (
        "import importlib, pkgutil, sys;"
        f"package = importlib.import_module({package!r});"
        "[importlib.import_module(m.name) for m in "
        "pkgutil.walk_packages(package.__path__, package.__name__ + '.')"
        " if not m.name.endswith('__main__')];"
        "print(sorted(m for m in sys.modules if m == 'app' or m.startswith('app.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]"
