"""A fourth compute-unit kind, defined only here, plugs into the cost model through the kind
interface (ador.model.units): time, split of matrix work, utilisation, area and peak power."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ador.evaluate import evaluate_population
from ador.model import units
from ador.model.area import area
from ador.model.arrays import col
from ador.model.design import DesignArrays
from ador.model.power import peak_power
from ador.spec.scenario import Scenario
from ador.workload.operators import MatMul
from tests.conftest import designs, model


@dataclasses.dataclass(frozen=True)
class WithNearMemory(DesignArrays):
    nm_count: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    nm_lanes: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(0))


class NearMemoryKind:
    """A near-memory GEMV unit: ``lanes`` MACs per cycle per unit, operands streamed from
    memory (no global-buffer traffic, no local buffer)."""

    name = "near_memory"

    def time(self, *, d, mm: MatMul, rate):
        count, lanes = col(d.nm_count), col(d.nm_lanes)
        macs = mm.m * mm.n * mm.k * mm.groups
        cycles = np.ceil(macs / np.maximum(count * lanes, 1))
        seconds = np.where(count > 0, cycles / (col(d.clock_hz) * rate), np.inf)
        return seconds, np.zeros_like(seconds)

    def count(self, d):
        return d.nm_count

    def macs_per_cycle(self, d):
        return d.nm_count * d.nm_lanes

    def local_buffer_bytes(self, d):
        return np.zeros(d.n)

    def operand_reads_per_mac(self, d):
        return np.ones(d.n)


@pytest.fixture
def four_kinds(monkeypatch):
    monkeypatch.setattr(units, "MATRIX_KINDS", (*units.MATRIX_KINDS, NearMemoryKind()))


def with_near_memory(count: float) -> WithNearMemory:
    base = designs("ador-hetero", "ador-systolic")
    n = base.n
    return WithNearMemory(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                          nm_count=np.full(n, count), nm_lanes=np.full(n, 512.0))


SCENARIO = Scenario(batch=32, input_len=256, output_len=64)


def test_an_absent_fourth_kind_changes_nothing(monkeypatch):
    base = designs("ador-hetero", "ador-systolic")
    plain = evaluate_population(designs=base, model=model("llama3-8b"), scenario=SCENARIO)
    plain_area = area(designs=base).total
    monkeypatch.setattr(units, "MATRIX_KINDS", (*units.MATRIX_KINDS, NearMemoryKind()))
    none = evaluate_population(designs=with_near_memory(0), model=model("llama3-8b"),
                               scenario=SCENARIO)
    np.testing.assert_array_equal(plain.tpot, none.tpot)
    np.testing.assert_array_equal(plain.ttft, none.ttft)
    assert np.all(none.decode.utilisation["near_memory"] == 0)
    np.testing.assert_array_equal(plain_area, area(designs=with_near_memory(0)).total)


def test_a_fourth_kind_takes_matrix_work_and_costs_area_and_power(four_kinds):
    few, many = with_near_memory(0), with_near_memory(64)
    r0 = evaluate_population(designs=few, model=model("llama3-8b"), scenario=SCENARIO)
    r1 = evaluate_population(designs=many, model=model("llama3-8b"), scenario=SCENARIO)
    assert np.all(r1.tpot <= r0.tpot) and np.all(r1.ttft < r0.ttft)
    util = r1.prefill.utilisation["near_memory"]
    assert np.all((util > 0) & (util <= 1.0 + 1e-9))
    assert np.all(area(designs=many).matrix_units > area(designs=few).matrix_units)
    p0 = peak_power(designs=few, area_mm2=area(designs=few).total).matrix_units
    p1 = peak_power(designs=many, area_mm2=area(designs=many).total).matrix_units
    assert np.all(p1 > p0)


def test_matrix_work_is_split_in_proportion_to_speed():
    t = [np.array([2.0, np.inf, 1.0]), np.array([2.0, 3.0, np.inf]), np.array([1.0, 1.0, 4.0])]
    total, shares = units.best_matrix_time(t)
    np.testing.assert_allclose(total, [0.5, 0.75, 0.8])
    np.testing.assert_allclose(sum(shares), 1.0)
    np.testing.assert_allclose(shares[0], [0.25, 0.0, 0.8])
    np.testing.assert_allclose(shares[2], [0.5, 0.75, 0.2])
