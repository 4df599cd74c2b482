"""Cost model: dies per wafer, negative-binomial yield, HBM and packaging."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ador.evaluate.efficiency import efficiency
from ador.evaluate.engine import evaluate_population
from ador.model.area import area
from ador.model.cost import CostConstants, chip_cost, die_yield, dies_per_wafer
from ador.spec.scenario import Scenario
from tests.conftest import ADOR_TEMPLATES, GPU_TEMPLATES, designs, model

ALL = GPU_TEMPLATES + ADOR_TEMPLATES


def test_dies_per_wafer_and_yield_fall_with_area():
    areas = np.linspace(50.0, 900.0, 200)
    dpw = dies_per_wafer(area_mm2=areas)
    y = die_yield(area_mm2=areas, node_nm=np.full(areas.shape, 7.0))
    assert np.all(np.diff(dpw) < 0) and np.all(np.diff(y) < 0)
    assert np.all((y > 0) & (y <= 1))


def test_known_dies_per_wafer_and_yield():
    # 300 mm wafer: pi 150² / 826 - pi 300 / sqrt(2 x 826) = 62.4 dies
    assert dies_per_wafer(area_mm2=np.array([826.0]))[0] == pytest.approx(62.4, abs=0.1)
    # (1 + 100 mm² x 0.0015 / 3) ** -3
    y = die_yield(area_mm2=np.array([100.0]), node_nm=np.array([7.0]))[0]
    assert y == pytest.approx((1 + 0.05) ** -3)


def test_cost_parts_and_their_growth():
    d = designs(*ALL)
    a = area(designs=d)
    c = chip_cost(designs=d, area_mm2=a.total, spare_mm2=a.spares)
    assert np.all(c.die > 0) and np.all(c.hbm > 0) and np.all(c.packaging > 0)
    assert np.allclose(c.total, c.die + c.hbm + c.packaging)
    more_hbm = replace(d, hbm_bytes=d.hbm_bytes * 2)
    assert np.all(chip_cost(designs=more_hbm, area_mm2=a.total, spare_mm2=a.spares).total
                  > c.total)
    bigger = chip_cost(designs=d, area_mm2=a.total * 1.2, spare_mm2=a.spares)
    assert np.all(bigger.die > c.die)


def test_a_die_larger_than_the_wafer_costs_infinity():
    d = designs("ador-hetero")
    c = chip_cost(designs=d, area_mm2=np.array([1e6]), spare_mm2=np.zeros(1))
    assert np.isinf(c.total[0])


def test_gpu_costs_are_plausible():
    """A100 and H100 bills of materials of a few thousand dollars (analysts' estimates
    for H100 are ~3,000 USD), HBM priced at CostConstants.hbm_usd_per_gb."""
    d = designs("a100-sxm-80gb", "h100-sxm-80gb")
    a = area(designs=d)
    c = chip_cost(designs=d, area_mm2=a.total, spare_mm2=a.spares)
    assert np.all((c.total > 1000) & (c.total < 5000))
    assert c.hbm[0] == pytest.approx(80 * CostConstants().hbm_usd_per_gb[1])


def test_throughput_per_dollar_and_per_mm2():
    d = designs(*ALL)
    sc = Scenario(batch=4, input_len=256, output_len=32)
    r = evaluate_population(designs=d, model=model("llama3-8b"), scenario=sc)
    e = efficiency(designs=d, result=r, scenario=sc)
    assert np.allclose(e.tokens_per_s_per_usd * e.cost_usd, r.throughput_per_chip)
    assert np.allclose(e.tokens_per_s_per_mm2 * e.area_mm2, r.throughput_per_chip)
