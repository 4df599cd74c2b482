"""Power and energy under serving load against measured GPUs (energy rows).

An energy reference CSV (``../shared/validation/energy_public.csv``, described in
``serving_README.md``) has one measured figure per row: ``avg_power_per_gpu`` (W),
``energy_per_output_token`` (J, all GPUs of the instance) or ``output_throughput``
(tok/s, the instance) of an engine serving a model with all requests queued at once and
the batch capped at ``max_num_seqs``, chunked prefill of at most 8192 tokens per
iteration.

Each group of rows (hardware, model, precision, tp, cap, lengths) is one run of ador's
serving simulator (ador.serve) with the scheduler of the measured vLLM 0.11 (its V1
engine: decodes first, then prefill chunks, at most 8192 batched tokens per iteration and
``max_num_seqs`` running requests, i.e. ador's ``sarathi`` policy with an 8192-token
budget) on :func:`chat_requests`, all
queued at time 0; power, energy per output token and throughput are taken over the run's
steady window at the clock the board limit allows (ador.serve.power_limit.powered_run).

A second, faster estimate (``method="steady"``) needs no simulation: the running batch
stays at the cap (or the KV capacity, if smaller), every iteration decodes one token per
running request and prefills the prompts of the requests that replace those that finished
(cap / output length requests per iteration); the step time is the static evaluator's
context-averaged decode step plus the marginal time of the prefill tokens.

Lengths: natural output lengths and chat prompts vary; ador takes both as exponential
(the maximum-entropy law for a given mean), by deterministic quantiles in a fixed
shuffled order.

Mean input length: the benchmark does not publish it (LMArena chat prompts with the
multi-turn history concatenated). ador assumes :data:`ASSUMED_MEAN_INPUT_TOKENS`, derived
from LMSYS-Chat-1M (Zheng et al., ICLR 2024, Table 1: 69.5 tokens per prompt, 214.5 per
response, 2.0 turns per conversation): with history concatenated, a request of turn k
carries k prompts and k - 1 responses; over requests of conversations with a geometric
number of turns of mean 2, the mean of k - 1 is 1, giving 69.5 + (69.5 + 214.5) = 353.5
tokens, plus about 30 tokens of chat template and system header -> 384. A row's own
``mean_input_len``, when given, is used instead.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ador.errors import AdorError, SpecError
from ador.evaluate.engine import evaluate_population
from ador.model.board_power import (
    BoardPowerConstants,
    clocked_designs,
    throttle_clock,
    work_clock_fraction,
)
from ador.model.design import DesignArrays
from ador.model.memory import footprint
from ador.model.power import PowerConstants
from ador.serve.energy import ServingPower, serving_power
from ador.serve.power_limit import powered_run
from ador.serve.requests import RequestSet
from ador.spec.base import Spec
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_hardware, load_model
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SchedulerConfig
from ador.validation.compare import ErrorSummary, summarise
from ador.validation.reference import reference_csv, row_from

ASSUMED_MEAN_INPUT_TOKENS = 384
# Requests per simulated run: enough that the steady window holds several turnovers of the
# batch.
MIN_REQUESTS = 1000
REQUESTS_PER_SEQ = 8
MAX_BATCHED_TOKENS = 8192
# vLLM's default gpu_memory_utilization: the share of GPU memory the engine may use
# (weights, activations and KV cache).
GPU_MEMORY_UTILIZATION = 0.9
ENERGY_COLUMNS = ("id", "source", "hardware", "model", "precision", "tp", "workload",
                  "max_num_seqs", "mean_output_len", "metric", "value", "unit")
ENERGY_UNITS = {"avg_power_per_gpu": "W", "energy_per_output_token": "J",
                "output_throughput": "tok/s"}
EnergyMetric = Literal["avg_power_per_gpu", "energy_per_output_token", "output_throughput"]
PRECISION_ALIASES = {"bf16": "bf16", "fp16": "fp16", "fp8": "fp8"}


class EnergyRow(Spec):
    id: Annotated[str, Field(min_length=1)]
    source: str
    hardware: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]
    precision: Precision
    tp: Annotated[int, Field(gt=0)]
    workload: Literal["max_load"]
    max_num_seqs: Annotated[int, Field(gt=0)]
    mean_input_len: Annotated[float, Field(gt=0)] | None = None
    mean_output_len: Annotated[float, Field(gt=0)]
    metric: EnergyMetric
    value: Annotated[float, Field(gt=0)]
    unit: str
    notes: str = ""


def is_energy_csv(path: Path) -> bool:
    """True when the CSV's header has the energy columns (max_num_seqs, mean_output_len)."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return False
    return "max_num_seqs" in header and "mean_output_len" in header


def read_energy_reference(path: Path) -> list[EnergyRow]:
    path = Path(path)
    with reference_csv(path, required=lambda header: ENERGY_COLUMNS) as reader:
        rows: list = []
        seen: set[str] = set()
        for line, raw in enumerate(reader, start=2):
            data = {k: v.strip() for k, v in raw.items() if isinstance(k, str) and v
                    and k in (*ENERGY_COLUMNS, "mean_input_len", "notes")}
            row = row_from(EnergyRow, data, where=f"{path}:{line}", seen=seen)
            if row.unit != ENERGY_UNITS[row.metric]:
                raise SpecError(f"unit of metric '{row.metric}' must be "
                                f"{ENERGY_UNITS[row.metric]}", file=f"{path}:{line}",
                                field=f"{row.id}.unit", value=row.unit)
            rows.append(row)
    return rows


@dataclass(frozen=True)
class SteadyState:
    """One design serving one load in steady state (ador's prediction of a row group)."""

    batch: int
    input_tokens: float
    output_tokens: float
    prefill_tokens: float  # per iteration
    step_s: float
    clock_fraction: float
    power_w: float  # per chip
    idle_w: float
    output_throughput: float  # instance, tok/s
    energy_per_output_token_j: float  # all chips

    def metric(self, name: str) -> float:
        return {"avg_power_per_gpu": self.power_w,
                "energy_per_output_token": self.energy_per_output_token_j,
                "output_throughput": self.output_throughput}[name]


def kv_capacity_tokens(*, hardware: HardwareSpec, model: ModelSpec, tp: int,
                       precision: Precision) -> float:
    """Tokens of KV cache the instance holds: the engine's share of memory after weights."""
    s = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=1, tp=tp)
    weights = footprint(model, s).weights
    chip_bytes = hardware.chip.hbm.capacity_bytes
    free = GPU_MEMORY_UTILIZATION * chip_bytes * tp - weights * tp
    return max(free, 0.0) / (model.kv_bytes_per_token(precision.bytes))


def chat_requests(*, n: int, mean_input: float, mean_output: float,
                  max_context: int) -> RequestSet:
    """``n`` requests queued at time 0, exponential prompt and output lengths (see above)."""
    q = (np.arange(n) + 0.5) / n
    rng = np.random.default_rng(0)
    inp = np.maximum(1, np.round(-mean_input * np.log1p(-q))).astype(np.int64)
    out = np.maximum(1, np.round(-mean_output * np.log1p(-q))).astype(np.int64)
    inp, out = rng.permutation(inp), rng.permutation(out)
    inp = np.minimum(inp, max_context // 2)
    out = np.minimum(out, max_context - inp)
    return RequestSet(arrival_s=np.zeros(n), prompt_tokens=inp, output_tokens=out)


def simulated_state(*, hardware: HardwareSpec, model: ModelSpec, precision: Precision,
                    tp: int, max_num_seqs: int, input_tokens: float, output_tokens: float,
                    power_constants: PowerConstants = PowerConstants(),
                    board_constants: BoardPowerConstants = BoardPowerConstants(),
                    ) -> SteadyState:
    n = max(MIN_REQUESTS, REQUESTS_PER_SEQ * max_num_seqs)
    reqs = chat_requests(n=n, mean_input=input_tokens, mean_output=output_tokens,
                         max_context=model.max_context)
    sched = SchedulerConfig(name="sarathi", max_num_seqs=max_num_seqs,
                            chunk_tokens=MAX_BATCHED_TOKENS)
    run = powered_run(hardware=hardware, model=model, requests=reqs, scheduler=sched, tp=tp,
                      precision=precision.value, power_constants=power_constants,
                      board_constants=board_constants)
    ts = run.result.timeseries
    lo, hi = run.window_s
    sel = (ts.t_s > lo) & (ts.t_s <= hi)
    return SteadyState(
        batch=round(float(np.mean(ts.batch_size[sel]))) if np.any(sel) else 0,
        input_tokens=input_tokens, output_tokens=output_tokens,
        prefill_tokens=float(np.mean(ts.prefill_tokens[sel])) if np.any(sel) else 0.0,
        step_s=float(np.mean(ts.busy_s[sel])) if np.any(sel) else 0.0,
        clock_fraction=run.clock_fraction, power_w=run.power.average_power_w,
        idle_w=run.power.idle_w, output_throughput=run.output_throughput,
        energy_per_output_token_j=run.power.energy_per_output_token_j)


def _step(*, d: DesignArrays, model: ModelSpec, precision: Precision, tp: int, batch: int,
          isl: int, osl: int, prefill_tokens: float) -> np.ndarray:
    """Seconds per steady-state iteration for each design of ``d``."""
    dec = evaluate_population(designs=d, model=model, scenario=Scenario.uniform(
        precision=precision, batch=batch, input_len=isl, output_len=osl, tp=tp))
    k = max(1, math.ceil(prefill_tokens / isl))
    one, two = (evaluate_population(designs=d, model=model, scenario=Scenario.uniform(
        precision=precision, batch=b, input_len=isl, output_len=1, tp=tp)).prefill.time
        for b in (k, 2 * k))
    per_token = np.maximum(two - one, 0.0) / (k * isl)
    return dec.decode.time + prefill_tokens * per_token


def steady_state(*, hardware: HardwareSpec, model: ModelSpec, precision: Precision, tp: int,
                 max_num_seqs: int, input_tokens: float, output_tokens: float,
                 power_constants: PowerConstants = PowerConstants(),
                 board_constants: BoardPowerConstants = BoardPowerConstants()) -> SteadyState:
    isl, osl = max(1, round(input_tokens)), max(1, round(output_tokens))
    capacity = kv_capacity_tokens(hardware=hardware, model=model, tp=tp, precision=precision)
    batch = int(max(1, min(max_num_seqs, capacity // (isl + osl / 2))))
    prefill = min(batch * isl / osl, max(MAX_BATCHED_TOKENS - batch, 0))
    base = DesignArrays.from_specs([hardware])

    def run(s: float) -> tuple[float, ServingPower]:
        work = work_clock_fraction(np.array([s]), base.matrix_eff)
        step = float(_step(d=clocked_designs(base, work), model=model, precision=precision,
                           tp=tp, batch=batch, isl=isl, osl=osl, prefill_tokens=prefill)[0])
        series = {"t_s": np.array([0.0]), "prefill_tokens": np.array([prefill]),
                  "decode_tokens": np.array([float(batch)]),
                  "kv_used_tokens": np.array([batch * (isl + osl / 2.0)]),
                  "busy_s": np.array([step])}
        sp = serving_power(hardware=hardware, model=model, timeseries=series, tp=tp,
                           precision=precision, clock_fraction=s,
                           power_constants=power_constants, board_constants=board_constants)
        return step, sp

    limit = hardware.chip.board_power_limit_w
    s = 1.0
    if limit is not None:
        s = float(throttle_clock(power_at=lambda x: np.array([run(float(x[0]))[1]
                                                              .average_power_w]),
                                 limit_w=np.array([limit]), c=board_constants)[0])
    step, sp = run(s)
    return SteadyState(batch=batch, input_tokens=isl, output_tokens=osl,
                       prefill_tokens=prefill, step_s=step, clock_fraction=s,
                       power_w=sp.average_power_w, idle_w=sp.idle_w,
                       output_throughput=batch / step,
                       energy_per_output_token_j=sp.energy_per_output_token_j)


@dataclass(frozen=True)
class EnergyRowResult:
    row: EnergyRow
    predicted: float | None
    state: SteadyState | None = None
    error: str | None = None

    @property
    def signed_error(self) -> float | None:
        if self.predicted is None:
            return None
        return (self.predicted - self.row.value) / self.row.value

    @property
    def ape(self) -> float | None:
        e = self.signed_error
        return None if e is None else abs(e)


@dataclass(frozen=True)
class EnergyValidation:
    rows: tuple[EnergyRowResult, ...]
    overall: ErrorSummary
    groups: tuple[tuple[tuple[str, str, str], ErrorSummary], ...]


def group_key(row: EnergyRow) -> tuple:
    return (row.hardware, row.model, row.precision, row.tp, row.max_num_seqs,
            row.mean_input_len, row.mean_output_len)


METHODS = {"simulate": simulated_state, "steady": steady_state}


def predict_energy_rows(rows: list[EnergyRow], *, method: str = "simulate",
                        power_constants: PowerConstants = PowerConstants(),
                        board_constants: BoardPowerConstants = BoardPowerConstants(),
                        ) -> tuple[EnergyRowResult, ...]:
    cache: dict[tuple, SteadyState | AdorError] = {}
    out = []
    for row in rows:
        key = group_key(row)
        if key not in cache:
            try:
                cache[key] = METHODS[method](
                    hardware=load_hardware(row.hardware), model=load_model(row.model),
                    precision=row.precision, tp=row.tp, max_num_seqs=row.max_num_seqs,
                    input_tokens=row.mean_input_len or ASSUMED_MEAN_INPUT_TOKENS,
                    output_tokens=row.mean_output_len, power_constants=power_constants,
                    board_constants=board_constants)
            except AdorError as err:
                cache[key] = err
        got = cache[key]
        if isinstance(got, AdorError):
            out.append(EnergyRowResult(row=row, predicted=None, error=got.message()))
        else:
            out.append(EnergyRowResult(row=row, predicted=got.metric(row.metric), state=got))
    return tuple(out)


def validate_energy_rows(rows: list[EnergyRow], **options) -> EnergyValidation:
    results = predict_energy_rows(rows, **options)
    ok = [(r, r.ape) for r in results if r.ape is not None]
    groups: dict[tuple[str, str, str], list[float]] = {}
    for r, ape in ok:
        groups.setdefault((r.row.source, r.row.hardware, r.row.metric), []).append(ape)
    return EnergyValidation(rows=results, overall=summarise([ape for _, ape in ok]),
                            groups=tuple((k, summarise(v)) for k, v in sorted(groups.items())))


def energy_to_json(v: EnergyValidation) -> dict:
    def summary(s: ErrorSummary) -> dict:
        return {"n": s.n, "mape": s.mape, "median_ape": s.median_ape, "max_ape": s.max_ape}

    return {
        "kind": "energy",
        "assumed_mean_input_tokens": ASSUMED_MEAN_INPUT_TOKENS,
        "rows": [{
            "id": r.row.id, "source": r.row.source, "hardware": r.row.hardware,
            "model": r.row.model, "precision": r.row.precision.value, "tp": r.row.tp,
            "max_num_seqs": r.row.max_num_seqs, "metric": r.row.metric, "unit": r.row.unit,
            "predicted": r.predicted, "measured": r.row.value,
            "signed_error": r.signed_error, "ape": r.ape, "error": r.error,
            "batch": None if r.state is None else r.state.batch,
            "clock_fraction": None if r.state is None else r.state.clock_fraction,
            "step_s": None if r.state is None else r.state.step_s,
        } for r in v.rows],
        **summary(v.overall),
        "groups": [{"source": k[0], "hardware": k[1], "metric": k[2], **summary(s)}
                   for k, s in v.groups],
        "errors": [{"id": r.row.id, "error": r.error} for r in v.rows if r.error],
    }


def full_clock_components(rows: list[EnergyRow], *,
                          power_constants: PowerConstants = PowerConstants(),
                          board_constants: BoardPowerConstants = BoardPowerConstants(),
                          ) -> list[tuple[EnergyRow, dict[str, float]]]:
    """Each ``avg_power_per_gpu`` row with the model's power parts (W per chip) of its load
    simulated at full clock, the board limit lifted (the input of the power fit)."""
    out = []
    for row in rows:
        if row.metric != "avg_power_per_gpu":
            continue
        hw = load_hardware(row.hardware)
        free = hw.model_copy(update={"chip": hw.chip.model_copy(
            update={"board_power_limit_w": None})})
        model = load_model(row.model)
        n = max(MIN_REQUESTS, REQUESTS_PER_SEQ * row.max_num_seqs)
        reqs = chat_requests(n=n, mean_input=row.mean_input_len or ASSUMED_MEAN_INPUT_TOKENS,
                             mean_output=row.mean_output_len, max_context=model.max_context)
        run = powered_run(hardware=free, model=model, requests=reqs, scheduler=SchedulerConfig(
            name="sarathi", max_num_seqs=row.max_num_seqs, chunk_tokens=MAX_BATCHED_TOKENS),
            tp=row.tp, precision=row.precision.value, power_constants=power_constants,
            board_constants=board_constants)
        out.append((row, dict(run.power.components_w)))
    return out


CURVE_CAPS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def energy_curves(rows: list[EnergyRow], caps: tuple[int, ...] = CURVE_CAPS,
                  ) -> list[dict]:
    """Predicted power, energy per token and clock over batch caps for every (hardware,
    model, precision, tp, lengths) of the rows, by the steady-state method (fast; the
    rows themselves are predicted by simulation)."""
    seen: dict[tuple, float] = {}
    for r in rows:
        seen.setdefault((r.hardware, r.model, r.precision, r.tp,
                         r.mean_input_len or ASSUMED_MEAN_INPUT_TOKENS), r.mean_output_len)
    out = []
    for (hw_name, model_name, precision, tp, isl), osl in seen.items():
        hw, model = load_hardware(hw_name), load_model(model_name)
        for cap in caps:
            s = steady_state(hardware=hw, model=model, precision=precision, tp=tp,
                             max_num_seqs=cap, input_tokens=isl, output_tokens=osl)
            out.append({"hardware": hw_name, "model": model_name, "tp": tp,
                        "precision": precision.value, "max_num_seqs": cap,
                        "batch": s.batch, "avg_power_w": s.power_w, "idle_w": s.idle_w,
                        "energy_per_output_token_j": s.energy_per_output_token_j,
                        "clock_fraction": s.clock_fraction,
                        "limit_w": hw.chip.board_power_limit_w})
    return out
