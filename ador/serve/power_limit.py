"""A served run under the chip's board power limit, and its power over a window.

The board limit is met by lowering the core clock (ador.model.board_power): a clock
fraction ``s`` sets the power of the cores (ador.model.board_power) and gives a copy of
the hardware spec with the core clock and the global buffer bandwidth (same clock
domain) times the work clock ``min(1, s / e)`` (e: the calibrated matrix efficiency;
ador.model.board_power.work_clock_fraction); the run is simulated on that copy, so
compute-bound iterations slow down and memory-bound ones barely do. The clock of a design
under one load is the highest ``s`` whose average power over the measured window fits the
limit, found by bisection over simulated runs (a fixed point of clock -> step times ->
power -> clock).

The window: a run with all requests queued at once is in steady state from the first
completion (the batch has filled and turnover begun) to the last admission (after it the
batch drains); with no such window (too few requests), the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ador.metrics import ENERGY_PER_REQUEST
from ador.model.board_power import BoardPowerConstants, throttle_clock, work_clock_fraction
from ador.model.power import PowerConstants
from ador.serve.api import simulate
from ador.serve.energy import ServingPower, serving_power
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.scheduler import SchedulerConfig


@dataclass(frozen=True)
class PoweredRun:
    result: ServingResult
    power: ServingPower  # over the window
    window_s: tuple[float, float]
    output_tokens: int  # emitted in the window
    clock_fraction: float

    @property
    def output_throughput(self) -> float:
        return self.output_tokens / self.power.wall_s if self.power.wall_s > 0 else 0.0

    @property
    def energy_per_request_j(self) -> float:
        """Energy of the window per request completed in it (all chips)."""
        f = self.result.requests.finish_s
        done = np.count_nonzero((f > self.window_s[0]) & (f <= self.window_s[1]))
        return self.power.energy_j_total / done if done else float("nan")


def clocked(hardware: HardwareSpec, clock_fraction: float) -> HardwareSpec:
    """The hardware spec with its core clock and global-buffer bandwidth scaled."""
    chip = hardware.chip
    sram = chip.sram.model_copy(update={
        "bandwidth_bytes_per_s": chip.sram.bandwidth_bytes_per_s * clock_fraction})
    return hardware.model_copy(update={"chip": chip.model_copy(update={
        "clock_hz": chip.clock_hz * clock_fraction, "sram": sram})})


def steady_window(result: ServingResult) -> tuple[float, float]:
    """(start, end) of the steady state: first completion to last admission."""
    r, ts = result.requests, result.timeseries
    first_done = float(np.nanmin(r.finish_s)) if r.finish_s.size else 0.0
    last_start = float(np.nanmax(r.start_s)) if r.start_s.size else 0.0
    begin = float(ts.t_s[0] - ts.busy_s[0]) if ts.t_s.size else 0.0
    end = float(ts.t_s[-1]) if ts.t_s.size else 0.0
    if last_start > first_done:
        return first_done, last_start
    return begin, end


def window_power(*, result: ServingResult, hardware: HardwareSpec, model: ModelSpec,
                 tp: int, pp: int, precision: str, clock_fraction: float,
                 window: tuple[float, float] | None = None,
                 power_constants: PowerConstants = PowerConstants(),
                 board_constants: BoardPowerConstants = BoardPowerConstants(),
                 ) -> tuple[ServingPower, int, tuple[float, float]]:
    """Power over the iterations ending in the window and the output tokens emitted there."""
    ts = result.timeseries
    lo, hi = window or steady_window(result)
    sel = (ts.t_s > lo) & (ts.t_s <= hi)
    if not np.any(sel):
        sel = np.ones(ts.t_s.shape, dtype=bool)
    idx = np.flatnonzero(sel)
    t_prev = ts.t_s[idx[0] - 1] if idx[0] > 0 else ts.t_s[idx[0]] - ts.busy_s[idx[0]]
    series = {"t_s": ts.t_s[sel], "prefill_tokens": ts.prefill_tokens[sel],
              "decode_tokens": ts.decode_tokens[sel], "kv_used_tokens": ts.kv_used_tokens[sel],
              "busy_s": ts.busy_s[sel]}
    lo_t, hi_t = float(t_prev), float(ts.t_s[idx[-1]])
    times = result.requests.token_times_s
    tokens = int(np.count_nonzero((times > lo_t) & (times <= hi_t)))
    sp = serving_power(hardware=hardware, model=model, timeseries=series, tp=tp, pp=pp,
                       precision=precision, clock_fraction=clock_fraction,
                       output_tokens=tokens, start_s=lo_t, power_constants=power_constants,
                       board_constants=board_constants)
    return sp, tokens, (lo_t, hi_t)


def powered_run(*, hardware: HardwareSpec, model: ModelSpec, requests: RequestSet,
                scheduler: SchedulerConfig, tp: int = 1, pp: int = 1, precision: str = "fp16",
                steady: bool = True, bisection_steps: int = 8,
                power_constants: PowerConstants = PowerConstants(),
                board_constants: BoardPowerConstants = BoardPowerConstants(),
                nominal: ServingResult | None = None, **simulate_kw: Any) -> PoweredRun:
    """Simulate the run at the highest clock whose power fits the board limit.

    ``steady``: measure power over the steady window (else the whole run);
    ``simulate_kw`` go to every simulation (SLOs, instances); ``nominal``, the same run
    already simulated at the nominal clock, is reused.
    """
    runs: dict[float, PoweredRun] = {}
    # by work clock: many power clocks share one simulation
    simulated: dict[float, ServingResult] = {} if nominal is None else {1.0: nominal}

    def run(s: float) -> PoweredRun:
        if s not in runs:
            work = float(work_clock_fraction(s, hardware.chip.calibration.matrix_efficiency))
            if work not in simulated:
                simulated[work] = simulate(
                    hardware=clocked(hardware, work), model=model, requests=requests,
                    scheduler=scheduler, tp=tp, pp=pp, precision=precision, **simulate_kw)
            result = simulated[work]
            window = None if steady else (-np.inf, np.inf)
            sp, tokens, span = window_power(
                result=result, hardware=hardware, model=model, tp=tp, pp=pp,
                precision=precision, clock_fraction=s, window=window,
                power_constants=power_constants, board_constants=board_constants)
            runs[s] = PoweredRun(result=result, power=sp, window_s=span, output_tokens=tokens,
                                 clock_fraction=s)
        return runs[s]

    limit = hardware.chip.board_power_limit_w
    s = 1.0
    if limit is not None:
        s = float(throttle_clock(
            power_at=lambda x: np.array([run(float(x[0])).power.average_power_w]),
            limit_w=np.array([limit]), c=board_constants, iterations=bisection_steps)[0])
    return run(s)


def power_summary(*, result: ServingResult, hardware: HardwareSpec, model: ModelSpec,
                  tp: int = 1, pp: int = 1, precision: str = "fp16",
                  clock_fraction: float = 1.0,
                  power_constants: PowerConstants = PowerConstants(),
                  board_constants: BoardPowerConstants = BoardPowerConstants()) -> dict:
    """Power and energy of a whole run, strict-JSON: average power per chip, energy per
    output token and per request (prefill included), and power per chip per iteration
    (for the time series). ``clock_fraction``: the clock the run was simulated at."""
    sp, tokens, _ = window_power(result=result, hardware=hardware, model=model, tp=tp, pp=pp,
                                 precision=precision, clock_fraction=clock_fraction,
                                 window=(-np.inf, np.inf), power_constants=power_constants,
                                 board_constants=board_constants)
    done = int(np.count_nonzero(np.isfinite(result.requests.finish_s)
                                & ~np.asarray(result.requests.rejected, dtype=bool)))
    out = sp.to_json_dict()
    out[ENERGY_PER_REQUEST.column] = sp.energy_j_total / done if done else None
    if not tokens:
        out["energy_per_output_token_j"] = None
    out["power_w_per_iteration"] = [float(x) for x in sp.power_w]
    return out
