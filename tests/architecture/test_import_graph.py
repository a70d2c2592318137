"""The import graph stays a tree of layers: no circle inside any package, and one
composition root.

import-linter checks the layers and the forbidden imports; a circle between two modules of
one package is invisible to it, and is how a helper module ends up reaching back into the
object that owns it. Tarjan's algorithm over grimp's graph (what import-linter builds on)
finds every circle at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import qfzz

PACKAGES = (
    "qfzz.station",
    "qfzz.app",
    "qfzz.api",
    "qfzz.cli",
    "qfzz.dj",
    "qfzz.trust",
    "qfzz.catalog",
    "qfzz.broadcast",
    "qfzz.edge",
    "qfzz.audio",
    "qfzz.streams",
    "qfzz.store",
    "qfzz.cache",
    "qfzz.jobs",
)


def _circles(graph: grimp.ImportGraph, modules: list[str]) -> list[list[str]]:
    inside = set(modules)
    edges = {m: graph.find_modules_directly_imported_by(m) & inside for m in modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in order:
            visit(module)
    return found


def test_no_package_has_an_import_circle():
    graph = grimp.build_graph("qfzz")
    circles = []
    for package in PACKAGES:
        modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
        circles += _circles(graph, modules)
    assert circles == []


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _circles(graph, ["p", "p.a", "p.b", "p.c"]) == [["p.a", "p.b"]]


#: What only the composition root (``qfzz.app``) may build from settings.
PARTS = {
    "QFZZStation",
    "open_store",
    "open_cache",
    "open_queue",
    "TrustLedger",
    "Miner",
    "PersonalizedDJ",
    "DeviceRegistry",
    "Radio",
}


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in PARTS:
                names.add(name)
    return names


def test_only_the_composition_root_builds_the_stations_parts():
    """Stores, caches, queues, the ledger, the DJ, the radio and the station itself are
    built in qfzz.app alone (the CLI and qfzz.testing are handed its build_station)."""
    root = Path(qfzz.__file__).parent
    builders = {}
    for path in sorted(root.rglob("*.py")):
        module = path.relative_to(root).as_posix()
        if module.startswith("app/"):
            continue
        found = _calls(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            builders[module] = sorted(found)
    assert builders == {}


def test_the_builder_check_sees_a_construction():
    assert _calls(ast.parse("x = open_store(url)\ny = mod.TrustLedger(a)")) == {
        "open_store",
        "TrustLedger",
    }


def test_frontends_use_the_facade_not_the_stations_parts():
    """``station.parts`` is for tests and tools; the API and CLI go through the facade."""
    root = Path(qfzz.__file__).parent
    reaching = [
        path.relative_to(root).as_posix()
        for frontend in ("api", "cli")
        for path in sorted((root / frontend).rglob("*.py"))
        if any(
            isinstance(node, ast.Attribute) and node.attr == "parts"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert reaching == []
