"""Area model: monotone in every count and size, never larger on a smaller node, and
within 15 % of the A100 and H100 dies with one set of constants."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ador.model.area import AreaConstants, area, sram_mm2
from tests.conftest import ADOR_TEMPLATES, GPU_TEMPLATES, designs

ALL = GPU_TEMPLATES + ADOR_TEMPLATES
# Count and size fields of DesignArrays that area depends on.
SIZES = ("sa_count", "sa_rows", "sa_cols", "sa_local_buffer_bytes", "mt_count", "mt_lanes",
         "mt_tree_width", "mt_local_buffer_bytes", "vu_count", "vu_lanes",
         "vu_special_per_cycle", "sram_bytes", "hbm_stacks", "p2p_links", "p2p_bw")
LOGIC = ("matrix_units", "vector_units", "control", "network_on_chip")


@pytest.fixture(scope="module")
def population():
    return designs(*ALL)


@pytest.mark.parametrize("field", SIZES)
def test_area_grows_with_every_count_and_size(population, field):
    d = population
    base = area(designs=d).total
    for factor in (1.5, 2.0, 4.0):
        value = getattr(d, field)
        bigger = replace(d, **{field: np.where(value > 0, value * factor, 1.0)})
        grown = area(designs=bigger).total
        assert np.all(grown >= base - 1e-9), field


def test_sram_area_is_monotone_in_capacity():
    caps = np.geomspace(1.0, 2.0**31, 4000)
    for node in (2, 3, 4, 5, 7, 16):
        a = sram_mm2(capacity_bytes=caps, node_nm=np.full(caps.shape, float(node)))
        assert np.all(np.diff(a) > 0), node


def test_a_smaller_node_never_grows_logic_or_sram():
    d = designs(*ALL)
    nodes = (28, 16, 12, 10, 7, 6, 5, 4, 3, 2)
    prev = None
    for node in nodes:
        a = area(designs=replace(d, node_nm=np.full(d.n, float(node))))
        logic = sum(getattr(a, name) for name in LOGIC)
        sram = a.register_files + a.local_buffers + a.global_buffer
        if prev is not None:
            assert np.all(logic <= prev[0] + 1e-9), node
            assert np.all(sram <= prev[1] + 1e-9), node
            assert np.all(a.total <= prev[2] + 1e-9), node
        prev = (logic, sram, a.total)


def test_components_are_positive_and_sum_to_total(population):
    a = area(designs=population)
    parts = a.components()
    assert all(np.all(v >= 0) for v in parts.values())
    assert np.allclose(sum(parts.values()), a.total)


@pytest.mark.parametrize(("name", "die_mm2"), [("a100-sxm-80gb", 826.0),
                                               ("h100-sxm-80gb", 814.0)])
def test_gpu_dies_within_15_percent(name, die_mm2):
    total = float(area(designs=designs(name)).total[0])
    assert total == pytest.approx(die_mm2, rel=0.15)


def test_a100_breakdown_near_the_published_one():
    """LLMCompass' A100 breakdown: cores ~476, L2 ~119, interconnect ~76 mm² (with the
    die's fused-off spares); the model's parts stay within 20 %."""
    c = AreaConstants()
    a = area(designs=designs("a100-sxm-80gb"), c=c)
    cores = float(a.cores[0]) * (1 + c.spare_core_fraction)
    l2 = float(a.global_buffer[0]) * (1 + c.spare_memory_fraction)
    noc = float(a.network_on_chip[0]) * (1 + c.spare_core_fraction)
    assert cores == pytest.approx(476.0, rel=0.2)
    assert l2 == pytest.approx(119.0, rel=0.2)
    assert noc == pytest.approx(76.0, rel=0.2)


def test_precisions_change_the_matrix_units_only(population):
    d = population
    narrow = replace(d, supports=np.zeros_like(d.supports))
    narrow.supports[:, 1] = 1.0  # fp16 only
    full = replace(d, supports=np.ones_like(d.supports))
    a_n, a_f = area(designs=narrow), area(designs=full)
    assert np.all(a_f.matrix_units > a_n.matrix_units)
    assert np.allclose(a_f.global_buffer, a_n.global_buffer)
