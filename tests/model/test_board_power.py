"""Board power: idle power, the alpha-power clock/voltage law and the power-limit search."""

from __future__ import annotations

import numpy as np
import pytest

from ador.model.area import area
from ador.model.board_power import (
    BoardPowerConstants,
    clocked_designs,
    core_energy_scale,
    idle_power_w,
    throttle_clock,
    voltage_fraction,
)
from ador.model.power import PowerConstants, leakage_w
from tests.conftest import designs


def test_voltage_fraction_is_one_at_full_clock_and_rises_with_clock():
    s = np.linspace(0.3, 1.0, 50)
    v = voltage_fraction(s)
    assert v[-1] == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.diff(v) > 0)
    # above the threshold, and the law holds: f ∝ (v - vt)^alpha / v
    c = BoardPowerConstants()
    g = (v - c.threshold_voltage_fraction) ** c.alpha / v
    assert np.allclose(g / g[-1], s, rtol=1e-6)


def test_core_energy_falls_faster_than_clock():
    s = np.array([0.5, 0.7, 0.9])
    assert np.all(core_energy_scale(s) < 1.0)
    # power of clocked logic ~ s v²: superlinear in the clock
    assert np.all(s * core_energy_scale(s) < s)


def test_idle_power_is_leakage_hbm_standby_and_board():
    d = designs("h100-sxm-80gb")
    a = area(designs=d).total
    pc, bc = PowerConstants(), BoardPowerConstants()
    expected = (float(leakage_w(area_mm2=a)[0]) + 5 * bc.hbm_standby_w_per_stack) / (
        pc.regulator_efficiency) + bc.board_w
    assert float(idle_power_w(designs=d, area_mm2=a)[0]) == pytest.approx(expected)
    # an idle H100 SXM draws tens of watts, far below its 700 W limit
    assert 50.0 < expected < 120.0


def test_throttle_finds_highest_clock_within_the_limit():
    limit = np.array([500.0, 900.0, 650.0])

    def power(s):  # 100 W fixed + 700 W of core power going as s v²
        return 100.0 + 700.0 * s * core_energy_scale(s)

    s = throttle_clock(power_at=power, limit_w=limit)
    p = power(s)
    assert np.all(p <= limit + 1e-9)
    assert s[1] == 1.0  # within its limit at full clock
    c = BoardPowerConstants()
    step = (1.0 - c.min_clock_fraction) / 2 ** 14
    assert np.all(power(np.where(s < 1.0, s + 2 * step, 1.0))[[0, 2]] > limit[[0, 2]])


def test_clocked_designs_scale_core_clock_and_global_buffer_only():
    d = designs("h100-sxm-80gb")
    c = clocked_designs(d, np.array([0.5]))
    assert c.clock_hz[0] == pytest.approx(0.5 * d.clock_hz[0])
    assert c.sram_bw[0] == pytest.approx(0.5 * d.sram_bw[0])
    assert c.hbm_bw[0] == d.hbm_bw[0] and c.p2p_bw[0] == d.p2p_bw[0]


def test_work_slows_only_below_the_calibrated_matrix_efficiency():
    from ador.model.board_power import work_clock_fraction

    s = np.array([1.0, 0.9, 0.75, 0.6, 0.4])
    assert np.allclose(work_clock_fraction(s, 1.0), s)
    w = work_clock_fraction(s, 0.75)
    assert np.allclose(w, [1.0, 1.0, 1.0, 0.8, 0.4 / 0.75])
    assert np.all(np.diff(w) <= 0)  # monotone in the clock
