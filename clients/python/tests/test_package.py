"""The client package stands alone: no import of the worker, faust or a web framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "suppressor_client"
HEAVY = ("workers", "faust", "aiokafka", "rocksdict", "fastapi", "starlette", "uvicorn")


def test_no_module_imports_the_worker_or_its_engines() -> None:
    """No module of suppressor_client names the worker package or its heavy dependencies."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in HEAVY]
    assert found == []


def test_importing_the_client_loads_nothing_heavy() -> None:
    """A fresh interpreter that imports the client has not loaded the worker or faust."""
    code = (
        "import sys, suppressor_client; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_package_is_typed() -> None:
    """py.typed ships, so a sender's mypy checks its calls against the client's hints."""
    assert (PACKAGE / "py.typed").exists()


def test_the_reference_names_every_public_name() -> None:
    """docs/senders.md mentions every name a module of the client exports."""
    import importlib
    import pkgutil

    import suppressor_client

    reference = (PACKAGE.parents[2] / "docs" / "senders.md").read_text(encoding="utf-8")
    missing = [
        f"{info.name}.{name}"
        for info in pkgutil.iter_modules(suppressor_client.__path__)
        for name in importlib.import_module(f"suppressor_client.{info.name}").__all__
        if f"`{name}" not in reference
    ]
    assert missing == []
