"""One serving run from names and options: what ``ador serve`` does, as a Python function.

>>> out = serve(hardware="a100", model="llama3-8b", workload="conv-trace",
...             overrides={"rate": 4})                                  # doctest: +SKIP
>>> out.result.summary["ttft_p99_s"]                                     # doctest: +SKIP

Everything is checked (workload, trace, SLOs, scheduler) before anything is simulated, and
nothing is written here: ``ador.serve.runfolder.write_serving_run`` writes the folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ador.errors import InfeasibleError, SpecError
from ador.metrics import TPOT, TTFT
from ador.serve.workloads import describe, load_workload, requests_from_spec
from ador.spec.io import load_hardware, load_model, to_data, validate_data
from ador.spec.scenario import Scenario
from ador.spec.serving import ServingRunConfig, ServingWorkloadSpec, parse_slo
from ador.units import format_quantity

Progress = Callable[[str, float], None]  # (task, fraction done)


@dataclass(frozen=True)
class ServeOutput:
    config: ServingRunConfig
    requests: Any  # RequestSet
    result: Any  # ServingResult
    slo: dict | None  # {"ttft_s", "tpot_s"}
    goodput: dict | None
    rates: dict | None  # columns of the rate sweep
    elapsed_s: float
    capacity: dict | None = None
    # Average power per chip, energy per output token and per request (prefill included)
    # and power per iteration, from the board-power model (ador.serve.power_limit).
    power: dict | None = None

    def to_json_dict(self) -> dict:
        """The run as strict-JSON data (the ``ador serve --json`` contract)."""
        cfg = self.config
        data = self.result.to_json_dict()
        return {"hardware": cfg.hardware, "model": cfg.model, "workload": cfg.workload.name,
                "workload_text": describe(cfg.workload), "tp": cfg.tp, "pp": cfg.pp,
                "precision": cfg.precision.value, "instances": cfg.instances,
                "chips": data["chips"],
                "scheduler": data["scheduler"], "num_requests": int(self.requests.n),
                "summary": data["summary"], "limits": data["limits"],
                "rejected": data["rejected"], "slo": self.slo, "goodput": self.goodput,
                "capacity": self.capacity,
                "board_power": None if self.power is None else {
                    k: v for k, v in self.power.items() if k != "power_w_per_iteration"},
                "elapsed_s": self.elapsed_s}


def resolve_slo(workload: ServingWorkloadSpec, *, ttft: str | None,
                tpot: str | None) -> dict | None:
    """SLOs from the options (units required, e.g. '2 s'), else from the workload."""
    given = {}
    for opt, value in (("--ttft-slo", ttft), ("--tpot-slo", tpot)):
        if value is not None:
            try:
                given[opt] = parse_slo(value)
            except SpecError as err:
                raise SpecError(err.rule, field=opt, value=value) from None
            if given[opt] <= 0:
                raise SpecError("an SLO must be > 0 s", field=opt, value=value)
    ttft_s = given.get("--ttft-slo", workload.slo.ttft if workload.slo else None)
    tpot_s = given.get("--tpot-slo", workload.slo.tpot if workload.slo else None)
    if (ttft_s is None) != (tpot_s is None):
        missing = "--tpot-slo" if tpot_s is None else "--ttft-slo"
        raise SpecError("give both SLOs (time to first token and time per output token)",
                        field=missing)
    return None if ttft_s is None else {TTFT.column: ttft_s, TPOT.column: tpot_s}


def resolve_scheduler(workload: ServingWorkloadSpec, options: Mapping[str, Any]):
    """The workload's scheduler block (or the defaults) with command-line options on top."""
    from ador.spec.scheduler import SchedulerConfig

    base = to_data(workload.scheduler, exclude_none=True) if workload.scheduler else {}
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return validate_data(SchedulerConfig, {**base, **given}, file="command line")
    except SpecError as err:
        field = err.field or ""
        option = "--scheduler" if field == "name" else "--" + field.replace("_", "-")
        raise SpecError(err.rule, field=option if field in given else f"scheduler.{field}",
                        value=err.value, show_value=err.show_value) from None


def serve(*, hardware: str, model: str, workload: str | Path,
          overrides: Mapping[str, Any] | None = None,
          scheduler: Mapping[str, Any] | None = None, tp: int = 1, pp: int = 1,
          precision: str = "fp16", ttft_slo: str | None = None, tpot_slo: str | None = None,
          goodput: bool = False, attainment: float = 0.9,
          sweep: Sequence[float] | None = None, instances: int = 1,
          capacity_tbt_slo: str | None = None,
          progress: Progress | None = None) -> ServeOutput:
    """Load everything, simulate the workload and, with ``goodput``, search the goodput and
    sweep the rate around it; ``sweep`` (requests per second) gives the sweep's rates;
    ``capacity_tbt_slo`` (a time with its unit) also searches Sarathi-Serve's capacity."""
    from ador.serve import find_capacity, find_goodput, simulate
    from ador.serve.api import default_step_model
    from ador.serve.goodput import MAX_QUEUE_MEDIAN_S
    from ador.serve.power_limit import power_summary, powered_run
    from ador.serve.ratesweep import rate_sweep, sweep_rates
    from ador.serve.workloads import apply_overrides

    start = time.perf_counter()
    if instances < 1:
        raise SpecError("instances must be >= 1", field="--instances", value=instances)
    spec, base_dir = load_workload(workload)
    spec = apply_overrides(spec, overrides)
    slo = resolve_slo(spec, ttft=ttft_slo, tpot=tpot_slo)
    if goodput and slo is None:
        raise SpecError("goodput needs SLOs: give --ttft-slo and --tpot-slo (e.g. '2 s', "
                        "'100 ms') or a workload with an slo block", field="--goodput")
    if sweep is not None and (not sweep or min(sweep) <= 0):
        raise SpecError("sweep rates must be > 0 requests/s", field="--sweep", value=sweep)
    if not 0 < attainment <= 1:
        raise SpecError("attainment must be in (0, 1]", field="--attainment", value=attainment)
    tbt_slo_s = None
    if capacity_tbt_slo is not None:
        try:
            tbt_slo_s = parse_slo(capacity_tbt_slo)
        except SpecError as err:
            raise SpecError(err.rule, field="--tbt-slo", value=capacity_tbt_slo) from None
        if tbt_slo_s <= 0:
            raise SpecError("an SLO must be > 0 s", field="--tbt-slo", value=capacity_tbt_slo)
    sched = resolve_scheduler(spec, scheduler or {})
    config = validate_data(ServingRunConfig, {
        "hardware": str(hardware), "model": str(model), "tp": tp, "pp": pp,
        "instances": instances,
        "precision": precision, "workload": to_data(spec), "scheduler": to_data(sched)},
        file="command line")
    validate_data(Scenario, {"batch": 1, "input_len": 1, "output_len": 1, "tp": tp, "pp": pp,
                             "weight_precision": precision, "activation_precision": precision,
                             "kv_precision": precision}, file="command line")
    hw, mdl = load_hardware(hardware), load_model(model)
    requests = requests_from_spec(spec, base_dir=base_dir)
    step = default_step_model(hardware=hw, model=mdl, tp=tp, pp=pp, precision=precision)
    common = dict(hardware=hw, model=mdl, scheduler=sched, tp=tp, pp=pp, precision=precision,
                  step_model=step, instances=instances)
    slo_kw = {} if slo is None else {"ttft_slo_s": slo[TTFT.column],
                                          "tpot_slo_s": slo[TPOT.column]}
    good = rates = None
    searches = [f for f, on in (("--goodput", goodput), ("--sweep", sweep),
                                ("--tbt-slo", tbt_slo_s)) if on]
    if searches and requests.concurrency is not None:
        raise SpecError("goodput, capacity and rate sweeps need open-loop arrivals, not a "
                        "closed loop", field=searches[0], value=requests.concurrency)
    cap = None
    if tbt_slo_s is not None:
        found_cap = find_capacity(requests=requests, tbt_p99_slo_s=tbt_slo_s, **common)
        cap = {**found_cap.to_json_dict(), "tbt_p99_slo_s": tbt_slo_s,
               "max_queue_median_s": MAX_QUEUE_MEDIAN_S}
    if goodput:
        found = find_goodput(requests=requests, attainment=attainment, **slo_kw, **common)
        good = {**found.to_json_dict(), "attainment": attainment}
        sweep = sweep or sweep_rates(found.rate_per_s, found.rates_tried)
    if sweep:
        rates = rate_sweep(requests=requests, rates=sorted(sweep),
                           progress=_task(progress, "rate sweep"), **slo_kw, **common)
    result = simulate(requests=requests, progress=_task(progress, "simulating"), **slo_kw,
                      **common)
    if result.limits.get("kv_capacity_tokens", 1) <= 0:
        raise InfeasibleError(
            f"{mdl.name} leaves no HBM for a KV cache on {hw.name} at tp {tp}, pp {pp} "
            f"({precision}): weights {format_quantity(step.weight_bytes_total / (tp * pp), 'B')}"
            f" per chip of {format_quantity(step.hbm_bytes_per_chip, 'B')} (rule: weights + "
            f"activation reserve < HBM; raise --tp or --pp or lower --precision)",
            field="memory")
    # one instance: its time series is one chip group's iterations (several instances
    # interleave theirs, which the per-iteration power accounting does not separate)
    power = None
    if instances == 1:
        power = power_summary(result=result, hardware=hw, model=mdl, tp=tp, pp=pp,
                              precision=precision)
        limit = hw.chip.board_power_limit_w
        if limit is not None and power["average_power_w"] > limit:
            # the board lowers the clock until the run fits its power limit (which slows
            # compute-bound work): simulate again at that clock
            pr = powered_run(hardware=hw, model=mdl, requests=requests, scheduler=sched, tp=tp,
                             pp=pp, precision=precision, steady=False, nominal=result,
                             **slo_kw)
            result = pr.result
            power = power_summary(result=result, hardware=hw, model=mdl, tp=tp, pp=pp,
                                  precision=precision, clock_fraction=pr.clock_fraction)
    return ServeOutput(config=config, requests=requests, result=result, slo=slo, goodput=good,
                       rates=rates, capacity=cap, power=power,
                       elapsed_s=time.perf_counter() - start)


def _task(progress: Progress | None, name: str) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda fraction: progress(name, fraction)
