"""Power model: GPU peak power within 15 % of TDP with one set of constants; energy per
token positive, average power above idle, energy lower with cheaper HBM bits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ador.evaluate.efficiency import efficiency
from ador.evaluate.engine import evaluate_population
from ador.model.area import area
from ador.model.board_power import idle_power_w
from ador.model.design import HBM_GENERATIONS
from ador.model.power import PowerConstants, peak_power
from ador.spec.scenario import Scenario
from tests.conftest import ADOR_TEMPLATES, GPU_TEMPLATES, designs, model

ALL = GPU_TEMPLATES + ADOR_TEMPLATES
SCENARIO = Scenario(batch=8, input_len=512, output_len=64)


@pytest.fixture(scope="module")
def evaluated():
    d = designs(*ALL)
    return d, evaluate_population(designs=d, model=model("llama3-8b"), scenario=SCENARIO)


@pytest.mark.parametrize(("name", "tdp_w"), [("a100-sxm-80gb", 400.0),
                                             ("h100-sxm-80gb", 700.0)])
def test_gpu_peak_power_within_15_percent_of_tdp(name, tdp_w):
    d = designs(name)
    p = peak_power(designs=d, area_mm2=area(designs=d).total)
    assert float(p.total[0]) == pytest.approx(tdp_w, rel=0.15)


def test_peak_power_grows_with_clock_and_units():
    d = designs(*ALL)
    a = area(designs=d).total
    base = peak_power(designs=d, area_mm2=a).total
    for field in ("clock_hz", "sa_count", "vu_lanes", "hbm_bw", "p2p_links"):
        value = getattr(d, field)
        bigger = replace(d, **{field: np.where(value > 0, value * 2.0, 1.0)})
        assert np.all(peak_power(designs=bigger, area_mm2=a).total >= base), field


def test_energy_per_token_positive_and_average_power_above_idle(evaluated):
    d, r = evaluated
    e = efficiency(designs=d, result=r, scenario=SCENARIO)
    assert np.all(e.energy_per_token_j > 0) and np.all(np.isfinite(e.energy_per_token_j))
    assert np.allclose(e.tokens_per_j * e.energy_per_token_j, 1.0)
    idle = idle_power_w(designs=d, area_mm2=area(designs=d).total)
    assert np.all(e.power_w > idle)
    # system energy = average power x chips x e2e
    tokens = SCENARIO.batch * SCENARIO.output_len
    assert np.allclose(e.energy_per_token_j * tokens, e.power_w * r.chips * r.e2e)


def test_cheaper_hbm_bits_lower_energy_per_token(evaluated):
    d, r = evaluated
    base = efficiency(designs=d, result=r, scenario=SCENARIO).energy_per_token_j
    cheaper = PowerConstants(hbm_pj_per_bit=tuple(0.5 * x for x in PowerConstants().hbm_pj_per_bit))
    lower = efficiency(designs=d, result=r, scenario=SCENARIO,
                       power_constants=cheaper).energy_per_token_j
    assert np.all(lower < base)


def test_a_newer_hbm_generation_lowers_energy_per_token(evaluated):
    d, r = evaluated
    base = efficiency(designs=d, result=r, scenario=SCENARIO).energy_per_token_j
    newer = replace(d, hbm_gen=np.full(d.n, float(HBM_GENERATIONS.index("hbm4"))))
    assert np.all(efficiency(designs=newer, result=r, scenario=SCENARIO).energy_per_token_j
                  < base)


def test_without_a_scenario_fp16_and_tp_equal_to_chips(evaluated):
    d, r = evaluated
    assert np.allclose(efficiency(designs=d, result=r).energy_per_token_j,
                       efficiency(designs=d, result=r, scenario=SCENARIO).energy_per_token_j)
