"""The Python API beside ``ador.load_run``: evaluate a design, compare designs, run a
search, from a notebook or a script. Every function takes keyword arguments only, accepts
template or model names (as the CLI does), YAML paths or ready-made specs, and raises
:class:`ador.errors.AdorError` (one line naming the field, rule and value) on bad input.

>>> import ador
>>> b = ador.evaluate_design(hardware="h100", model="llama3-8b", batch=16)  # doctest: +SKIP
>>> b.tpot_s, b.throughput_per_chip_tok_s                                   # doctest: +SKIP
>>> c = ador.compare_designs(hardware=["a100", "h100"], model="llama3-8b")  # doctest: +SKIP
>>> c.ratio(1, "tpot_s")                                                    # doctest: +SKIP
>>> run = ador.explore(problem={"search": {"generations": 5}}, out_dir="results")  # +SKIP
>>> run.pareto[["id", "throughput_per_chip_tok_s"]]                          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ador.errors import InfeasibleError
from ador.evaluate.breakdown import Breakdown, evaluate
from ador.evaluate.compare import Comparison, compare
from ador.search.explore import RunResult, run_search
from ador.spec.hardware import HardwareSpec
from ador.spec.io import (
    check_problem_names,
    load_hardware,
    load_model,
    load_problem,
    validate_data,
)
from ador.spec.model import ModelSpec
from ador.spec.problem import ProblemSpec
from ador.spec.scenario import Scenario
from ador.units import format_quantity

HardwareLike = str | Path | HardwareSpec
ModelLike = str | Path | ModelSpec


def _hardware(hw: HardwareLike) -> HardwareSpec:
    return hw if isinstance(hw, HardwareSpec) else load_hardware(hw)


def _model(model: ModelLike) -> ModelSpec:
    return model if isinstance(model, ModelSpec) else load_model(model)


def _scenario(*, batch: int, input_len: int, output_len: int, tp: int, pp: int,
              precision: str, kv_precision: str | None) -> Scenario:
    return validate_data(Scenario, {
        "batch": batch, "input_len": input_len, "output_len": output_len, "tp": tp, "pp": pp,
        "weight_precision": precision, "activation_precision": precision,
        "kv_precision": kv_precision or precision}, file="ador API", units_required=False)


def _check_fit(b: Breakdown, *, allow_overflow: bool) -> None:
    if not b.fits_memory and not allow_overflow:
        raise InfeasibleError(
            f"{b.model} needs {format_quantity(b.memory_bytes, 'B')} per chip but "
            f"'{b.hardware}' has {format_quantity(b.memory_capacity_bytes, 'B')} of HBM "
            f"(rule: weights + KV cache + activations <= HBM capacity; raise tp, lower "
            f"batch, or pass allow_overflow=True)", field="memory", value=None)


def evaluate_design(*, hardware: HardwareLike, model: ModelLike = "llama3-8b",
                    batch: int = 16, input_len: int = 1024, output_len: int = 256,
                    tp: int = 1, pp: int = 1, precision: str = "fp16",
                    kv_precision: str | None = None,
                    allow_overflow: bool = False) -> Breakdown:
    """One design on one scenario (as ``ador evaluate``): latencies, throughput, memory,
    area, power, energy and cost in SI units (``ttft_s``, ``tpot_s``, ``area_mm2``...)."""
    b = evaluate(hardware=_hardware(hardware), model=_model(model),
                 scenario=_scenario(batch=batch, input_len=input_len, output_len=output_len,
                                    tp=tp, pp=pp, precision=precision,
                                    kv_precision=kv_precision))
    _check_fit(b, allow_overflow=allow_overflow)
    return b


def compare_designs(*, hardware: list[HardwareLike], model: ModelLike = "llama3-8b",
                    batch: int = 16, input_len: int = 1024, output_len: int = 256,
                    tp: int = 1, pp: int = 1, precision: str = "fp16",
                    kv_precision: str | None = None,
                    allow_overflow: bool = False) -> Comparison:
    """Several designs on one scenario (as ``ador compare``); ``ratio(i, column)`` is
    design i's value over the first design's."""
    c = compare(hardware=[_hardware(h) for h in hardware], model=_model(model),
                scenario=_scenario(batch=batch, input_len=input_len, output_len=output_len,
                                   tp=tp, pp=pp, precision=precision,
                                   kv_precision=kv_precision))
    for b in c.results:
        _check_fit(b, allow_overflow=allow_overflow)
    return c


def explore(*, problem: str | Path | ProblemSpec | dict[str, Any] | None = None,
            out_dir: str | Path = "results", show_progress: bool = False,
            resume: str | Path | None = None) -> RunResult:
    """A search (as ``ador explore``): ``problem`` is a problem YAML path, a ProblemSpec, a
    mapping of the same fields (quantities as unit strings: ``{"slo": {"tpot_s": "20 ms"}}``)
    or None for the default problem. Writes a run folder under ``out_dir`` and returns its
    designs, Pareto set, baselines, comparison and summary."""
    if problem is None:
        spec, file = ProblemSpec.model_validate({}), "ador API"
    elif isinstance(problem, ProblemSpec):
        spec, file = problem, "ador API"
    elif isinstance(problem, dict):
        spec, file = validate_data(ProblemSpec, problem, file="ador API"), "ador API"
    else:
        spec, file = load_problem(problem), str(problem)
    check_problem_names(spec, file=file)
    return run_search(spec, out_dir=out_dir, config_file=file, show_progress=show_progress,
                      resume=resume)


__all__ = ["compare_designs", "evaluate_design", "explore"]
