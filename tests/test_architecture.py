"""The layer rule of docs/architecture.md: every import points down, and nothing circles.

Each folder of ``workers/`` is one layer; a module may import its own layer and the ones
below it. The check reads the source with ``ast`` (lazy imports inside functions count
too), so it needs no import of the code it judges.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workers"

LAYERS: tuple[str, ...] = (
    "domain",
    "base",
    "kafka",
    "client",
    "stream",
    "service",
    "ingest",
    "api",
    "policy",
    "devkit",
    "cli",
    "entry",
)
"""Lowest first. ``base``: the top-level modules (settings, metrics); ``entry``: ``__main__``."""

RANK = {name: rank for rank, name in enumerate(LAYERS)}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside ``workers``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    if parts[1] == "__main__":
        return "entry"
    if parts[1] in RANK:
        return parts[1]
    return "base"  # workers.settings, workers.metrics


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ``workers`` module a file imports, resolved to dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "workers")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "workers":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_module = PACKAGE.parent / Path(*candidate.split("."))
                is_module = as_module.with_suffix(".py").exists() or as_module.is_dir()
                found.add(candidate if is_module else node.module)
    return found


@cache
def all_modules() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_layers_cover_every_folder() -> None:
    """Every folder of the package is a named layer, so a new one must be placed on purpose."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(RANK), f"folders with no layer: {sorted(folders - set(RANK))}"


@pytest.mark.parametrize("module", sorted(all_modules()))
def test_imports_point_down(module: str) -> None:
    """A module imports only its own layer and the layers below it."""
    own = RANK[layer_of(module)]
    upward = sorted(m for m in all_modules()[module] if RANK[layer_of(m)] > own)
    assert not upward, f"{module} ({layer_of(module)}) imports a layer above it: {upward}"


def test_no_import_circle() -> None:
    """Module-level imports form no circle (a circle makes import order matter)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top: set[str] = set()
        for node in tree.body:  # module level only: lazy imports cannot circle at import time
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("workers"):
                    top.add(node.module)
            elif isinstance(node, ast.Import):
                top.update(a.name for a in node.names if a.name.startswith("workers"))
        graph[module_name(path)] = {m for m in top if m != module_name(path)}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle.extend([*trail, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, []):
            break
    assert not cycle, "import circle: " + " -> ".join(cycle)


def test_production_never_imports_the_devkit() -> None:
    """Only the CLI (and tests, benchmarks) may use the dev kit."""
    users = sorted(
        m
        for m, deps in all_modules().items()
        if layer_of(m) not in {"devkit", "cli", "entry"}
        and any(layer_of(d) == "devkit" for d in deps)
    )
    assert not users, f"production modules importing the dev kit: {users}"
