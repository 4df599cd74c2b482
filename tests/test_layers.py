"""Imports point one way: units, errors, metrics -> spec -> workload -> model -> evaluate ->
serve -> calibration, validation, search -> report -> cli (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ador"
RANK = {"units": 0, "errors": 0, "metrics": 0, "spec": 1, "runfolders": 1, "workload": 2, "model": 3,
        "evaluate": 4, "serve": 5, "calibration": 6, "validation": 6, "search": 6,
        "report": 7, "api": 8, "cli": 8, "__main__": 9}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "ador" and len(parts) > 1 else None


def test_imports_point_one_way():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0].removesuffix(".py")
        if own == "__init__":  # ador/__init__ loads ador.load_run on first use only
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                other = layer(name)
                if other is not None and RANK[other] > RANK[own]:
                    wrong.append(f"{rel}:{node.lineno} imports {name}")
    assert not wrong, wrong
