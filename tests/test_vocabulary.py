"""Each vocabulary is defined once: metric names and columns appear as string literals in at
most two modules of ador/ (the registry and the computation); constraint and backend dispatch
are tables."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from ador.metrics import METRICS

PACKAGE = Path(__file__).resolve().parents[1] / "ador"
# Metric names that are also the names of scenario or system fields (``tp``, ``chips``) are
# that other vocabulary's words too.
HOMONYMS = {"tp", "chips"}
# Other vocabularies that share a word with a metric: the `ador area` command, the report's
# area figure (figures/area.svg) and the keys of the `ador area --json` object, which
# efficiency.chip_report writes and the area table and figure read.
AREA_JSON = {"cli/area_cmd.py", "report/figdata.py", "report/figures.py"}
# The ``metric`` column of the serving and energy reference CSVs (measurements ador is checked
# against, ../shared/validation) is a file format of its own: its values are the Literal types
# of those rows, and ``output_throughput`` is one of them in both files.
REFERENCE_ROWS = {"validation/serving.py", "validation/energy.py"}
ALLOWED = {("area", "cli/main.py"), ("area", "report/html.py"),
           *((key, module) for key in ("area_mm2", "power_w", "peak_power_w", "cost_usd")
             for module in AREA_JSON),
           *(("output_throughput", module) for module in REFERENCE_ROWS)}


@functools.lru_cache(maxsize=1)
def trees() -> dict[str, ast.Module]:
    """Parsed modules of ador/ by relative path."""
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(encoding="utf-8"))
            for p in PACKAGE.rglob("*.py")}


@functools.lru_cache(maxsize=1)
def literals() -> dict[str, set[str]]:
    """String literal -> modules (relative paths) of ador/ that contain it."""
    found: dict[str, set[str]] = {}
    for rel, tree in trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.setdefault(node.value, set()).add(rel)
    return found


@pytest.mark.parametrize("word", sorted({w for m in METRICS for w in (m.name, m.column)}
                                        - HOMONYMS))
def test_a_metric_is_spelled_out_in_at_most_two_modules(word):
    modules = {m for m in literals().get(word, set()) if (word, m) not in ALLOWED}
    assert len(modules) <= 2, f"'{word}' is written out in {sorted(modules)}"


def test_the_registry_defines_every_metric_once():
    assert len({m.name for m in METRICS}) == len(METRICS)
    assert len({m.column for m in METRICS}) == len(METRICS)


def test_no_dispatch_on_constraint_or_backend_names():
    for rel in ("search/problem.py", "search/explore.py", "search/constraints.py",
                "search/backends.py"):
        for node in ast.walk(trees()[rel]):
            if isinstance(node, ast.Compare) and any(
                    isinstance(c, ast.Constant) and c.value in {
                        "pymoo", "optuna", "sweep", "ttft", "tpot", "area", "power",
                        "memory", "valid", "supported", "hbm_bw", "p2p_bw", "cost"}
                    for c in node.comparators):
                pytest.fail(f"{rel}:{node.lineno} compares against a name")


def test_evaluate_holds_no_operator_names():
    from ador.spec.scenario import Scenario
    from ador.workload.transformer import decode_ops, prefill_ops
    from tests.conftest import model

    sc = Scenario(batch=2, input_len=8, output_len=4, tp=2)
    names = {op.name for op in prefill_ops(model("llama3-8b"), sc)
             + decode_ops(model("llama3-8b"), sc, 9.0)}
    assert {"allreduce_attn", "lm_head", "residual_add_ffn"} <= names
    used = {word for word, modules in literals().items()
            if any(m.startswith("evaluate/") for m in modules)}
    assert not names & used


def test_functions_of_more_than_three_parameters_take_keywords():
    """At most three positional parameters; Typer commands (the CLI's signatures) and the
    YAML loader's internals aside."""
    offenders = []
    for rel, tree in trees().items():
        if rel.endswith("_cmd.py") or rel == "spec/io.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                positional = [a for a in node.args.posonlyargs + node.args.args
                              if a.arg not in ("self", "cls")]
                if len(positional) > 3:
                    offenders.append(f"{rel}:{node.lineno} {node.name}")
    assert not offenders, offenders
