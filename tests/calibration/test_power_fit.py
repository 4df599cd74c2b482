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
