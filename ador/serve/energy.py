"""Power and energy of a served run, from the simulator's per-iteration time series.

Each iteration ``i`` of the serving loop runs ``prefill_tokens[i]`` prompt tokens and
``decode_tokens[i]`` decode tokens over ``kv_used_tokens[i]`` tokens of KV cache, for
``busy_s[i]`` seconds, ending at ``t_s[i]``; its share of wall time runs from the end of
the previous iteration (idle gaps included) to its own end. Per chip of the
tensor-parallel group, an iteration:

* reads the chip's weight shard once from HBM (weights / tp) when it runs any token;
* reads the KV cache of every running request once (``kv_used_tokens`` x KV bytes per
  token / tp) and writes the KV of its new tokens;
* does the matrix work of its tokens: 1 MAC per weight per token (lm_head for decode
  tokens only) and attention (QK^T and PV: 2 x layers x query width MACs per token of
  context; a prefill token sees on average half its request's context);
* moves every HBM byte once through the global buffer, plus the inputs and outputs of
  every GEMM of every token (activations);
* sends its share of two ring all-reduces of the hidden state per layer and token over
  the links when tp > 1.

Power per chip over an iteration is idle power + busy power x the share of the iteration
the cores compute (its busy time less the all-reduces they wait through, unless the links
overlap collectives with compute) + dynamic energy / duration (ador.model.board_power,
ador.model.power); the core part scales with the clock fraction the board limit sets
(one clock per run). Energy per output token is the
energy of all chips over the run / output tokens, so that it equals average power x
chips x wall time / tokens exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ador.model.area import area
from ador.model.board_power import (
    BoardPowerConstants,
    busy_power_w,
    core_energy_scale,
    idle_power_w,
    scaled_energies,
)
from ador.model.design import DesignArrays
from ador.model.interconnect import allreduce_time
from ador.model.power import PowerConstants
from ador.model.units import matrix_kinds
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision

TIMESERIES_FIELDS = ("t_s", "prefill_tokens", "decode_tokens", "kv_used_tokens", "busy_s")


@dataclass(frozen=True)
class Activity:
    """Work of every iteration on one chip (arrays of shape (iterations,))."""

    hbm_bytes: np.ndarray
    sram_bytes: np.ndarray
    prefill_macs: np.ndarray
    decode_macs: np.ndarray
    link_bytes: np.ndarray
    tokens: np.ndarray


@dataclass(frozen=True)
class ServingPower:
    """Power and energy of one run on one design; time series per iteration."""

    power_w: np.ndarray  # average power per chip over each iteration
    duration_s: np.ndarray  # each iteration's share of wall time
    energy_j: np.ndarray  # energy of all chips in each iteration
    idle_w: float  # per chip
    average_power_w: float  # per chip over the run
    wall_s: float
    energy_j_total: float  # all chips
    output_tokens: float
    energy_per_output_token_j: float
    clock_fraction: float
    limit_w: float | None
    components_w: dict[str, float]  # average W per chip: idle, busy, matrix, ... (sum = average)

    def to_json_dict(self) -> dict:
        return {"average_power_w": self.average_power_w, "idle_power_w": self.idle_w,
                "energy_j": self.energy_j_total, "wall_s": self.wall_s,
                "output_tokens": self.output_tokens,
                "energy_per_output_token_j": self.energy_per_output_token_j,
                "clock_fraction": self.clock_fraction, "board_power_limit_w": self.limit_w,
                "components_w": dict(self.components_w)}


def iteration_activity(*, model: ModelSpec, tp: int, prefill_tokens: np.ndarray,
                       decode_tokens: np.ndarray, kv_used_tokens: np.ndarray,
                       weight_precision: Precision = Precision.FP16,
                       kv_precision: Precision = Precision.FP16,
                       activation_precision: Precision = Precision.FP16) -> Activity:
    """Per-chip work of each iteration (see the module docstring)."""
    pre = np.asarray(prefill_tokens, dtype=np.float64)
    dec = np.asarray(decode_tokens, dtype=np.float64)
    kv = np.asarray(kv_used_tokens, dtype=np.float64)
    tokens = pre + dec
    m = model
    running = (tokens > 0).astype(np.float64)
    weight_bytes = (m.params - m.embedding_params) * weight_precision.bytes / tp
    kv_per_token = m.kv_bytes_per_token(kv_precision.bytes) / tp
    hbm = running * weight_bytes + (kv + tokens) * kv_per_token
    layer_macs = m.layers * m.params_per_layer / tp
    head_macs = m.lm_head_params / tp
    attn_per_ctx = 2.0 * m.layers * m.q_dim / tp
    # mean context per running request; a prefill token sees half of it on average
    safe = np.where(dec + (pre > 0) > 0, dec + (pre > 0), 1.0)
    ctx = kv / safe
    decode_macs = dec * (layer_macs + head_macs) + attn_per_ctx * np.where(
        dec > 0, kv * dec / np.maximum(dec + (pre > 0), 1.0), 0.0)
    prefill_macs = pre * (layer_macs + attn_per_ctx * 0.5 * ctx)
    gemm_io = m.layers * (4 * m.hidden + 2 * (m.q_dim + 2 * m.kv_dim) + 3 * m.ffn_hidden) / tp
    sram = hbm + 2.0 * tokens * gemm_io * activation_precision.bytes
    link = np.zeros_like(tokens) if tp == 1 else (
        tokens * 2 * m.layers * m.hidden * activation_precision.bytes * 2 * (tp - 1) / tp)
    return Activity(hbm_bytes=hbm, sram_bytes=sram, prefill_macs=prefill_macs,
                    decode_macs=decode_macs, link_bytes=link, tokens=tokens)


def communication_s(*, designs: DesignArrays, model: ModelSpec, tp: int, precision: Precision,
                    tokens: np.ndarray) -> np.ndarray:
    """Seconds per iteration in the two all-reduces per layer (ador.model.interconnect);
    cores wait through them unless the links overlap collectives with compute."""
    if tp <= 1:
        return np.zeros_like(tokens)
    size = tokens * model.hidden * precision.bytes
    return 2 * model.layers * allreduce_time(d=designs, size_bytes=size, p=tp)[0]


def durations(t_s: np.ndarray, busy_s: np.ndarray, start_s: float | None = None) -> np.ndarray:
    """Each iteration's share of wall time: from the end of the previous iteration to its
    own end (``t_s`` is an iteration's end); the first one from ``start_s`` (default: its
    own start)."""
    t = np.asarray(t_s, dtype=np.float64)
    busy = np.asarray(busy_s, dtype=np.float64)
    if t.size == 0:
        return t
    first = busy[:1] if start_s is None else np.maximum(t[:1] - start_s, busy[:1])
    return np.concatenate([first, np.maximum(np.diff(t), busy[1:])])


def serving_power(*, hardware: HardwareSpec, model: ModelSpec,
                  timeseries: Mapping[str, np.ndarray], tp: int = 1, pp: int = 1,
                  precision: Precision | str = Precision.FP16, clock_fraction: float = 1.0,
                  output_tokens: float | None = None, start_s: float | None = None,
                  power_constants: PowerConstants = PowerConstants(),
                  board_constants: BoardPowerConstants = BoardPowerConstants()) -> ServingPower:
    """Power and energy of a run given its per-iteration time series (keys TIMESERIES_FIELDS).

    ``clock_fraction`` is the core clock the run was simulated at (over nominal; see
    ador.model.board_power.throttle_clock). ``output_tokens`` defaults to the decode tokens
    of the series (pass the run's total when first tokens come from prefill iterations);
    ``start_s`` is when the series' wall time starts (default: the first iteration's start).
    """
    p = Precision(precision)
    d = DesignArrays.from_specs([hardware])
    areas = area(designs=d)
    die = areas.total
    e = scaled_energies(designs=d, area_mm2=die, precision=p,
                        power_constants=power_constants, c=board_constants)
    act = iteration_activity(model=model, tp=tp, prefill_tokens=timeseries["prefill_tokens"],
                             decode_tokens=timeseries["decode_tokens"],
                             kv_used_tokens=timeseries["kv_used_tokens"], weight_precision=p,
                             kv_precision=p, activation_precision=p)
    bc = board_constants
    reg = power_constants.regulator_efficiency
    v2 = float(core_energy_scale(clock_fraction, bc)[()])
    # Prefill GEMMs run mostly on the throughput kind (listed first: systolic arrays) and
    # decode GEMVs on the latency kind (listed last: MAC trees) when a chip has both.
    present = [k for k in matrix_kinds() if k.macs_per_cycle(d)[0] > 0] or list(matrix_kinds())
    prefill_mac_j = float(e.mac[present[0].name][0])
    decode_mac_j = float(e.mac[present[-1].name][0])
    busy = np.asarray(timeseries["busy_s"], dtype=np.float64)
    comm = communication_s(designs=d, model=model, tp=tp, precision=p,
                           tokens=act.tokens) * (1.0 - d.p2p_overlap[0])
    parts_j = {
        "busy": float(busy_power_w(designs=d, areas=areas,
                                   power_constants=power_constants, c=bc)[0])
        * clock_fraction * v2 * np.maximum(busy - comm, 0.0),
        "matrix": v2 * (act.prefill_macs * prefill_mac_j
                        + act.decode_macs * decode_mac_j) / reg,
        "global_buffer": v2 * act.sram_bytes * float(e.global_byte[0]) / reg,
        "hbm": act.hbm_bytes * float(e.hbm_byte[0]) / reg,
        "links": act.link_bytes * float(e.link_byte[0]) / reg,
    }
    dt = durations(timeseries["t_s"], busy, start_s)
    idle = float(idle_power_w(designs=d, area_mm2=die, power_constants=power_constants,
                              c=bc)[0])
    chips = tp * pp
    # pipeline stages each do 1/pp of the layers
    dynamic_j = sum(parts_j.values(), np.zeros_like(dt)) / pp
    chip_j = idle * dt + dynamic_j
    power = np.where(dt > 0, chip_j / np.where(dt > 0, dt, 1.0), idle)
    wall = float(dt.sum())
    total = float(chip_j.sum()) * chips
    out_tokens = float(np.sum(timeseries["decode_tokens"])) if output_tokens is None else float(
        output_tokens)
    components = {"idle": idle if wall > 0 else 0.0, **{
        k: float(v.sum()) / pp / wall if wall > 0 else 0.0 for k, v in parts_j.items()}}
    return ServingPower(
        power_w=power, duration_s=dt, energy_j=chip_j * chips, idle_w=idle,
        average_power_w=total / (chips * wall) if wall > 0 else idle, wall_s=wall,
        energy_j_total=total, output_tokens=out_tokens,
        energy_per_output_token_j=total / out_tokens if out_tokens > 0 else float("nan"),
        clock_fraction=clock_fraction, limit_w=hardware.chip.board_power_limit_w,
        components_w=components)
