"""Fit the power model's two free constants on measured board power under serving load,
subject to the measured GEMM ceilings fitting each GPU's board limit.

Usage: python scripts/fit_power.py [energy CSV] [kernel ceilings CSV]
(defaults: ../shared/validation/energy_public.csv and
../shared/validation/operators/kernel_ceilings.csv)

Simulates every avg_power_per_gpu row's load at full clock (twice: at the current
constants and with a MAC energy scale of 0), splits the power into its parts, fits
busy_w_per_mtr_ghz and mac_energy_scale (ador.calibration.power_fit) under
the ceiling constraints and prints the constants, per-row errors and every ceiling's
power. Copy the constants into BoardPowerConstants.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from ador.calibration.power_fit import (
    ceiling_constraint,
    fit_power,
    gemm_power_w,
    observation,
    read_gemm_ceilings,
)
from ador.model.board_power import BoardPowerConstants
from ador.spec.io import load_hardware
from ador.validation.energy import full_clock_components, read_energy_reference

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "validation"


def main() -> None:
    energy = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "energy_public.csv"
    ceilings = Path(sys.argv[2]) if len(sys.argv) > 2 else (
        SHARED / "operators" / "kernel_ceilings.csv")
    rows = read_energy_reference(energy)
    base = BoardPowerConstants()
    zero = full_clock_components(rows, board_constants=replace(base, mac_energy_scale=0.0))
    obs = [observation(row_id=r.id, measured_w=r.value,
                       limit_w=load_hardware(r.hardware).chip.board_power_limit_w,
                       components_w=c, matrix_at_zero_scale_w=z["matrix"])
           for (r, c), (_, z) in zip(full_clock_components(rows, board_constants=base), zero,
                                     strict=True)]
    cons = [ceiling_constraint(hardware=load_hardware(name), flops_per_s=f, precision=p)
            for name, p, f in read_gemm_ceilings(ceilings)]
    fit = fit_power(obs, cons)
    print(f"busy_w_per_mtr_ghz = {fit.busy_w_per_mtr_ghz:.5f} W per MTr GHz")
    print(f"mac_energy_scale   = {fit.mac_energy_scale:.2f}")
    print(f"rms log error      = {fit.rms_log_error:.4f}")
    for o, p, e in zip(obs, fit.predicted_w, fit.signed_errors, strict=True):
        print(f"{o.row_id}: measured {o.measured_w:.1f} W, fitted {p:.1f} W ({e:+.1%}); "
              f"parts at the current constants: fixed {o.fixed_w:.1f}, busy {o.busy_w:.1f}, "
              f"matrix {o.matrix_w:.1f}")
    fitted = replace(base, busy_w_per_mtr_ghz=fit.busy_w_per_mtr_ghz,
                     mac_energy_scale=fit.mac_energy_scale)
    for k in cons:
        hw = load_hardware(k.hardware)
        at = {s: gemm_power_w(hardware=hw, flops_per_s=k.flops_per_s, clock_fraction=s,
                              c=fitted) for s in (k.min_clock_fraction, 1.0)}
        print(f"constraint: {k.hardware} BF16 GEMM at its measured "
              f"{k.flops_per_s / 1e12:.1f} TFLOP/s draws {at[k.min_clock_fraction]:.0f} W at "
              f"clock fraction {k.min_clock_fraction:.3f} (ceiling / peak; limit "
              f"{k.limit_w:.0f} W), {at[1.0]:.0f} W at nominal clock")


if __name__ == "__main__":
    main()
