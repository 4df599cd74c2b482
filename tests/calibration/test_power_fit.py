"""Power fit: recovers known constants from synthetic observations; respects the limit."""

from __future__ import annotations

import numpy as np
import pytest

from ador.calibration.power_fit import PowerObservation, fit_power, predict
from ador.model.board_power import BoardPowerConstants

BASE = BoardPowerConstants()


def synthetic(busy, scale):
    parts = [("a", 150.0, 220.0, 40.0, 700.0), ("b", 140.0, 220.0, 190.0, 700.0),
             ("c", 130.0, 180.0, 130.0, 700.0), ("d", 90.0, 100.0, 20.0, np.inf)]
    obs = []
    for rid, fixed, b, m, limit in parts:
        o = PowerObservation(row_id=rid, measured_w=1.0, limit_w=limit, fixed_w=fixed,
                             busy_w=b, matrix_w=m)
        p = float(predict([o], busy_w_per_mtr_ghz=busy, mac_energy_scale=scale)[0])
        obs.append(PowerObservation(row_id=rid, measured_w=p, limit_w=limit, fixed_w=fixed,
                                    busy_w=b, matrix_w=m))
    return obs


@pytest.mark.parametrize(("busy", "scale"), [(1.5e-3, 2.0), (3.2e-3, 3.8), (6e-3, 6.0)])
def test_fit_recovers_synthetic_constants(busy, scale):
    fit = fit_power(synthetic(busy, scale))
    assert fit.busy_w_per_mtr_ghz == pytest.approx(busy, abs=0.06e-3)
    assert fit.mac_energy_scale == pytest.approx(scale, abs=0.06)
    assert fit.rms_log_error < 0.01


def test_prediction_never_exceeds_the_limit():
    obs = synthetic(3e-3, 3.0)
    p = predict(obs, busy_w_per_mtr_ghz=np.array([10e-3]), mac_energy_scale=np.array([10.0]))
    assert np.all(p <= np.array([o.limit_w for o in obs]))


def test_no_observations_is_an_error():
    with pytest.raises(ValueError):
        fit_power([])


def test_gemm_power_is_idle_plus_busy_at_zero_rate_and_grows_with_rate():
    from ador.calibration.power_fit import gemm_power_w
    from ador.model.area import area
    from ador.model.board_power import busy_power_w, idle_power_w
    from ador.model.design import DesignArrays
    from tests.conftest import hardware

    h = hardware("h100-sxm-80gb")
    d = DesignArrays.from_specs([h])
    a = area(designs=d)
    floor = float(idle_power_w(designs=d, area_mm2=a.total)[0] + busy_power_w(designs=d,
                                                                              areas=a)[0])
    assert gemm_power_w(hardware=h, flops_per_s=0.0) == pytest.approx(floor)
    assert floor < gemm_power_w(hardware=h, flops_per_s=4e14) < gemm_power_w(
        hardware=h, flops_per_s=8e14)


# Measured BF16 GEMM ceilings (../shared/validation/operators/kernel_ceilings.csv:
# stas00/ml-engineering, mamf-finder, best shape of a brute-force search).
CEILINGS_TFLOPS = {"h100-sxm-80gb": 792.1, "a100-sxm-80gb": 267.9}


@pytest.mark.parametrize(("name", "tflops"), sorted(CEILINGS_TFLOPS.items()))
def test_measured_gemm_ceiling_fits_the_board_limit_with_the_fitted_constants(name, tflops):
    """Real GPUs reach these ceilings within their limit, at a clock no lower than
    ceiling / peak (a fully used datapath); the fitted constants must allow that."""
    from ador.calibration.power_fit import gemm_power_w, peak_matrix_flops
    from tests.conftest import hardware

    h = hardware(name)
    s = tflops * 1e12 / peak_matrix_flops(h)
    assert 0.5 < s < 1.0
    p = gemm_power_w(hardware=h, flops_per_s=tflops * 1e12, clock_fraction=s)
    assert p <= h.chip.board_power_limit_w
    # and the ceiling is a heavy load: well above the idle + busy floor of memory-bound work
    assert p > 0.6 * h.chip.board_power_limit_w


def test_constrained_fit_keeps_every_ceiling_within_its_limit():
    from ador.calibration.power_fit import CeilingConstraint, ceiling_power

    obs = synthetic(4e-3, 5.0)
    free = fit_power(obs)
    # a ceiling that the unconstrained optimum would push 20 % over its limit
    k = CeilingConstraint(hardware="x", flops_per_s=1e15, limit_w=1.0, min_clock_fraction=0.8,
                          idle_w=80.0, operand_w=40.0, busy_w=200.0, matrix_w=150.0)
    over = float(ceiling_power([k], busy_w_per_mtr_ghz=free.busy_w_per_mtr_ghz,
                               mac_energy_scale=free.mac_energy_scale)[0])
    k = CeilingConstraint(**{**vars(k), "limit_w": over / 1.2})
    fit = fit_power(obs, [k])
    assert fit.ceiling_power_w[0] <= k.limit_w
    assert fit.rms_log_error > free.rms_log_error
    with pytest.raises(ValueError):
        fit_power(obs, [CeilingConstraint(**{**vars(k), "limit_w": 10.0})])


def test_ceiling_power_at_full_clock_is_the_gemm_power():
    from ador.calibration.power_fit import ceiling_constraint, ceiling_power, gemm_power_w
    from tests.conftest import hardware

    h = hardware("h100-sxm-80gb")
    k = ceiling_constraint(hardware=h, flops_per_s=5e14)
    for scale in (1.0, BASE.mac_energy_scale, 6.0):
        c = BoardPowerConstants(mac_energy_scale=scale)
        assert float(ceiling_power([k], busy_w_per_mtr_ghz=BASE.busy_w_per_mtr_ghz,
                                   mac_energy_scale=scale)[0]) == pytest.approx(
            gemm_power_w(hardware=h, flops_per_s=5e14, clock_fraction=k.min_clock_fraction,
                         c=c), rel=1e-9)
