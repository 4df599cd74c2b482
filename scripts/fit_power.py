"""Fit the power model's two free constants on measured board power under serving load.

Usage: python scripts/fit_power.py [../shared/validation/energy_public.csv]

Simulates every avg_power_per_gpu row's load at full clock, splits the power into its
parts, fits busy_w_per_mtr_ghz and mac_energy_scale (ador.calibration.power_fit) and prints
the constants and per-row errors. Copy the constants into BoardPowerConstants.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ador.calibration.power_fit import fit_power, gemm_power_w, observation
from ador.validation.energy import full_clock_components, read_energy_reference

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        ROOT.parent / "shared" / "validation" / "energy_public.csv")
    rows = read_energy_reference(path)
    from ador.spec.io import load_hardware

    obs = [observation(row_id=r.id, measured_w=r.value,
                       limit_w=load_hardware(r.hardware).chip.board_power_limit_w,
                       components_w=c) for r, c in full_clock_components(rows)]
    fit = fit_power(obs)
    print(f"busy_w_per_mtr_ghz = {fit.busy_w_per_mtr_ghz:.5f} W per MTr GHz")
    print(f"mac_energy_scale = {fit.mac_energy_scale:.2f}")
    print(f"rms log error    = {fit.rms_log_error:.4f}")
    for o, p, e in zip(obs, fit.predicted_w, fit.signed_errors):
        print(f"{o.row_id}: measured {o.measured_w:.1f} W, fitted {p:.1f} W ({e:+.1%}); "
              f"parts at the current constants: fixed {o.fixed_w:.1f}, busy {o.busy_w:.1f}, "
              f"matrix {o.matrix_w:.1f}")
    for name, tflops in (("h100-sxm-80gb", 792.1), ("a100-sxm-80gb", 267.9)):
        hw = load_hardware(name)
        print(f"check: {name} BF16 GEMM at its measured {tflops} TFLOP/s ceiling draws "
              f"{gemm_power_w(hardware=hw, flops_per_s=tflops * 1e12):.0f} W at nominal clock "
              f"(board limit {hw.chip.board_power_limit_w:.0f} W)")


if __name__ == "__main__":
    main()
