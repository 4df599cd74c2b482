"""Chip power at the board: idle power, the busy power of running cores, and the power limit.

A chip draws, per second:

* **idle power**, whatever it does: leakage of the die (PowerConstants.leakage_w_per_mm2),
  standby and refresh of its HBM stacks, and the board's own fixed draw (voltage
  regulators at light load, clock generation, management controller);
* **busy power** while a kernel runs, whatever the kernel computes: clock trees, pipeline
  latches, instruction issue, schedulers and register files of every enabled core toggle
  at the core clock as soon as the cores are active. Switched capacitance grows with the
  transistors clocked, so busy power is ``busy_w_per_mtr_ghz`` x clocked transistors
  (clocked on-die area: cores, global buffer and network on chip, without PHYs, the host
  interface and fused-off spares, times the node's logic density) x clock in GHz; the
  constant is fitted (ador.calibration.power_fit). It carries no node energy scale: the
  node's iso-speed energy gain (PowerConstants.energy_scale) holds at the older node's
  clock, and products spend it on clock instead (H100 on 4 nm runs 1.30x the clock of
  A100 on 7 nm, beyond the ~1.2x iso-power speed gain of N4 over N7 that TSMC claims),
  so their supply, and energy per switched transistor, at the operating point is no
  lower; the clock networks and latches that make most of this power are also wire
  capacitance, which does not shrink with the node (PowerConstants.wire_pj_per_bit_mm).
  With the node scale, a busy A100 (7 nm) would draw 0.84x a busy H100's core power;
  without it 0.51x (173 W against 342 W), against 0.57x in their board limits (400 W /
  700 W); with it, the A100's measured GEMM ceiling cannot fit its limit for constants
  that explain the H100's serving power (ador.calibration.power_fit);
* **dynamic energy** per event (MAC, byte of global buffer, bit of HBM, bit over a link;
  ador.model.power.energies), with the arithmetic part of a MAC scaled by a fitted
  factor for what a real datapath spends beyond the bare multiplier and adder of the
  reference table (pipeline registers, operand muxing, accumulator and clock gating).

Core energies (busy power, MACs, global buffer) scale with the square of the core
voltage; HBM and link energies do not (own supplies). A chip with a board power limit
lowers its core clock (and with it the voltage) until its average power fits: the clock
fraction ``s`` and the voltage fraction ``v`` follow the alpha-power law of MOSFET delay
(Sakurai and Newton, "Alpha-power law MOSFET model", IEEE JSSC 25(2), 1990):
``f ∝ (V - Vt)^alpha / V``, with alpha = 1.3 for short-channel devices and a threshold of
0.35 of the nominal supply (about 0.25-0.30 V threshold against 0.75-0.85 V supply on
5-4 nm processes). Busy power goes as ``s v²`` and event energies as ``v²``; work that is
compute-bound slows as ``1/s``, memory-bound work does not, except that a design's
calibrated matrix efficiency ``e`` (measured kernels on a real GPU, under its limit)
already holds any clock reduction down to ``e``: work is timed at ``min(1, s / e)``
(:func:`work_clock_fraction`), so a GPU template is not slowed twice.

Every constant is in :class:`BoardPowerConstants` with its source. Pure, vectorized
functions over designs (arrays of shape (n,)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ador.model.area import AreaBreakdown, AreaConstants, node_value
from ador.model.design import PRECISIONS, DesignArrays
from ador.model.power import PJ, Energies, PowerConstants, energies, leakage_w, peak_power
from ador.model.units import matrix_kinds
from ador.spec.precision import RATE_VS_FP16, Precision


@dataclass(frozen=True)
class BoardPowerConstants:
    # HBM standby (precharge power-down with refresh), W per stack: JEDEC HBM3 stacks draw
    # IDD2P/IDD5 currents of a few hundred mA at 1.1 V per channel group; about 3 W per
    # 8/12-high stack (model estimate from vendor data sheets' standby currents).
    hbm_standby_w_per_stack: float = 3.0
    # Board draw outside the die and HBM (regulators at light load, clocks, management
    # controller, NVLink/PCIe retimers idle), W per chip (model estimate). With leakage and
    # HBM standby this gives an H100 SXM idle power of about 75 W; nvidia-smi reports
    # 60-90 W on idle H100 SXM boards (public DGX H100 reports).
    board_w: float = 15.0
    # Busy power of running cores, W per million clocked transistors per GHz (see the
    # module docstring). Fitted with mac_energy_scale on the four avg_power_per_gpu rows
    # of ../shared/validation/energy_public.csv (ML.ENERGY v3, H100 SXM, vLLM;
    # Llama-3.1-8B at caps 16/128/512, Llama-3.3-70B TP4 at cap 64), subject to the
    # measured BF16 GEMM ceilings of H100 SXM and A100 SXM
    # (../shared/validation/operators/kernel_ceilings.csv) fitting their board limits, by
    # ador.calibration.power_fit (scripts/fit_power.py; result in its module docstring).
    busy_w_per_mtr_ghz: float = 2.15e-3
    # Factor on the arithmetic energy of a MAC (PowerConstants.mac_pj; operand traffic to
    # local buffers is counted apart). Fitted with the busy power (see above).
    mac_energy_scale: float = 2.6
    # Alpha-power law (Sakurai and Newton 1990): velocity-saturation index and threshold
    # voltage as a fraction of the nominal supply (see the module docstring).
    alpha: float = 1.3
    threshold_voltage_fraction: float = 0.35
    # Lowest clock the power manager goes to, as a fraction of nominal (GPU application
    # clocks span about 0.4-1.0 of the maximum; H100 SXM: ~0.8 to 1.98 GHz).
    min_clock_fraction: float = 0.4


def idle_power_w(*, designs: DesignArrays, area_mm2: np.ndarray,
                 power_constants: PowerConstants = PowerConstants(),
                 c: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Power of a chip with nothing to do, W (shape (n,))."""
    on_die = (leakage_w(area_mm2=area_mm2, c=power_constants)
              + designs.hbm_stacks * c.hbm_standby_w_per_stack)
    return on_die / power_constants.regulator_efficiency + c.board_w


def clocked_area_mm2(a: AreaBreakdown) -> np.ndarray:
    """Die area whose clocks run while a kernel does: cores, global buffer, on-chip network."""
    return a.cores + a.global_buffer + a.network_on_chip


def busy_power_w(*, designs: DesignArrays, areas: AreaBreakdown,
                 power_constants: PowerConstants = PowerConstants(),
                 area_constants: AreaConstants = AreaConstants(),
                 c: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Extra power while cores run a kernel, at nominal clock and voltage, W (shape (n,))."""
    d = designs
    mtr = clocked_area_mm2(areas) * node_value(node_nm=d.node_nm,
                                               table=area_constants.logic_mtr_per_mm2)
    return (c.busy_w_per_mtr_ghz * mtr * d.clock_hz / 1e9
            / power_constants.regulator_efficiency)


def scaled_energies(*, designs: DesignArrays, area_mm2: np.ndarray, precision: Precision,
                    power_constants: PowerConstants = PowerConstants(),
                    c: BoardPowerConstants = BoardPowerConstants()) -> Energies:
    """Per-event energies (ador.model.power.energies) with the arithmetic part of a MAC
    scaled by ``mac_energy_scale``."""
    e = energies(designs=designs, area_mm2=area_mm2, precision=precision, c=power_constants)
    arithmetic = (power_constants.mac_table()[PRECISIONS.index(precision)] * PJ
                  * node_value(node_nm=designs.node_nm, table=power_constants.energy_scale))
    extra = (c.mac_energy_scale - 1.0) * arithmetic
    return replace(e, mac={kind: joules + extra for kind, joules in e.mac.items()})


def voltage_fraction(clock_fraction: np.ndarray | float,
                     c: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Supply voltage over nominal at a clock over nominal, by the alpha-power law.

    Solves ``s = g(v) / g(1)`` with ``g(v) = (v - vt)^alpha / v`` (increasing in v above
    vt) by bisection; ``s`` outside (0, 1] is clipped to it.
    """
    s = np.clip(np.asarray(clock_fraction, dtype=np.float64), 1e-6, 1.0)
    vt = c.threshold_voltage_fraction

    def g(v: np.ndarray) -> np.ndarray:
        return (v - vt) ** c.alpha / v

    lo, hi = np.full(s.shape, vt + 1e-9), np.ones(s.shape)
    target = s * ((1.0 - vt) ** c.alpha)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        below = g(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def core_energy_scale(clock_fraction: np.ndarray | float,
                      c: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Factor on core event energies (v²) at a clock fraction."""
    return voltage_fraction(clock_fraction, c) ** 2


def clocked_designs(designs: DesignArrays, clock_fraction: np.ndarray | float) -> DesignArrays:
    """Designs at a clock fraction: the core clock and the global buffer bandwidth (on the
    core clock domain) scale; HBM and links keep their own clocks."""
    s = np.asarray(clock_fraction, dtype=np.float64)
    return replace(designs, clock_hz=designs.clock_hz * s, sram_bw=designs.sram_bw * s)


def work_clock_fraction(clock_fraction: np.ndarray | float,
                        matrix_efficiency: np.ndarray | float) -> np.ndarray:
    """Clock fraction at which work is timed when the board limit sets ``clock_fraction``.

    A design's calibrated matrix efficiency ``e`` (below 1 for the GPU templates) says its
    measured compute-bound kernels ran at ``e`` of the nominal peak rate. Those kernels
    ran under the GPU's board limit, so any clock reduction down to ``e`` of nominal may
    already be inside that figure (a fully used datapath at clock ``e`` delivers it); the
    model slows the work only by what the limit asks beyond it: ``min(1, s / e)``. A
    design with ``e = 1`` (ador's own, modelled rather than measured) slows by ``s``.
    """
    s = np.asarray(clock_fraction, dtype=np.float64)
    e = np.asarray(matrix_efficiency, dtype=np.float64)
    return np.minimum(1.0, s / np.where(e > 0, e, 1.0))


def limit_array(limits_w: list[float | None] | np.ndarray) -> np.ndarray:
    """Board limits as an array, +inf where a chip has none."""
    items = np.asarray(limits_w, dtype=object).ravel()
    return np.asarray([np.inf if x is None else float(x) for x in items], dtype=np.float64)


def throttle_clock(*, power_at: Callable[[np.ndarray], np.ndarray], limit_w: np.ndarray,
                   c: BoardPowerConstants = BoardPowerConstants(),
                   iterations: int = 14) -> np.ndarray:
    """Highest clock fraction in [min_clock_fraction, 1] at which ``power_at`` fits the limit.

    ``power_at(s)`` gives each design's average power (W, shape (n,)) when it runs at clock
    fraction ``s`` (shape (n,)); it must grow with ``s`` (faster clock, higher voltage).
    Designs within their limit at full clock keep 1.0; a design over it even at the lowest
    clock gets the lowest clock (its power is then reported above the limit). Vectorized
    bisection: ``iterations`` calls of ``power_at`` resolve the clock to
    (1 - min) / 2**iterations.
    """
    limit_w = np.asarray(limit_w, dtype=np.float64)
    ones = np.ones(limit_w.shape)
    full = power_at(ones)
    over = full > limit_w
    if not np.any(over):
        return ones
    lo = np.full(limit_w.shape, c.min_clock_fraction)
    hi = ones.copy()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        fits = power_at(np.where(over, mid, 1.0)) <= limit_w
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
    return np.where(over, lo, 1.0)


def unlimited_peak_power_w(*, designs: DesignArrays, areas: AreaBreakdown,
                           power_constants: PowerConstants = PowerConstants(),
                           area_constants: AreaConstants = AreaConstants(),
                           c: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Power with every unit, memory and link at its peak rate at once and the cores busy,
    before any board limit (ador.model.power.peak_power with the scaled MAC energy, plus
    idle and busy power). A chip with a limit never draws it: its clock drops first."""
    d, pc = designs, power_constants
    die = areas.total
    base = peak_power(designs=d, area_mm2=die, c=pc)
    matrix = np.zeros(d.n)
    for p in PRECISIONS:
        e = scaled_energies(designs=d, area_mm2=die, precision=p, power_constants=pc, c=c)
        macs_per_s = RATE_VS_FP16[p] * d.clock_hz
        w = macs_per_s * sum((k.macs_per_cycle(d) * e.mac[k.name] for k in matrix_kinds()),
                             np.zeros(d.n))
        matrix = np.maximum(matrix, np.where(d.supports_precision(p), w, 0.0))
    drawn = (base.total - base.regulator_loss) - base.leakage - base.matrix_units + matrix
    return (drawn / pc.regulator_efficiency
            + idle_power_w(designs=d, area_mm2=die, power_constants=pc, c=c)
            + busy_power_w(designs=d, areas=areas, power_constants=pc,
                           area_constants=area_constants, c=c))
