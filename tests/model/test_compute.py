"""Unit-level compute model: dataflow utilisation, peaks, precision rates, unit mixing."""

from __future__ import annotations

import numpy as np
import pytest

from ador.model.compute import (
    best_matrix_time,
    mactree_time,
    systolic_os_cycles,
    systolic_time,
    systolic_ws_cycles,
    vector_time,
)
from ador.model.design import DesignArrays
from ador.workload.operators import MatMul
from tests.conftest import designs, hardware

ONE = np.ones((1, 1))


def macs(mm: MatMul) -> float:
    return mm.m * mm.n * mm.k * mm.groups


def sa_macs_per_cycle(d: DesignArrays) -> np.ndarray:
    return d.sa_count * d.sa_rows * d.sa_cols


def mt_macs_per_cycle(d: DesignArrays) -> np.ndarray:
    return d.mt_count * d.mt_lanes * d.mt_tree_width


def test_weight_stationary_array_is_mostly_idle_on_one_token():
    """A 128x128 weight-stationary array streaming a single token does one row of work per
    tile while paying rows + cols cycles of fill/drain: utilisation well under 1%."""
    d = designs("ador-systolic")
    gemv = MatMul(m=1, n=4096, k=4096)
    cycles = systolic_ws_cycles(d=d, mm=gemv)[0, 0]
    util = macs(gemv) / (cycles * sa_macs_per_cycle(d)[0])
    assert util < 0.01
    # the same array is nearly fully used by a tall GEMM
    gemm = MatMul(m=16384, n=4096, k=4096)
    util_gemm = macs(gemm) / (systolic_ws_cycles(d=d, mm=gemm)[0, 0] * sa_macs_per_cycle(d)[0])
    assert util_gemm > 0.9


def test_mac_trees_do_better_on_gemv():
    d = designs("ador-mactree", "ador-systolic")
    gemv = MatMul(m=1, n=4096, k=4096)
    t_mt, _ = mactree_time(d=d, mm=gemv, rate=ONE)
    t_sa, _ = systolic_time(d=d, mm=gemv, rate=ONE)
    util_mt = macs(gemv) / (t_mt[0, 0] * d.clock_hz[0] * mt_macs_per_cycle(d)[0])
    util_sa = macs(gemv) / (t_sa[1, 0] * d.clock_hz[1] * sa_macs_per_cycle(d)[1])
    assert util_mt > 0.5
    assert util_mt > 20 * util_sa
    # even with fewer multipliers (131,072 vs 196,608) the MAC-tree design is far faster
    assert mt_macs_per_cycle(d)[0] < sa_macs_per_cycle(d)[1]
    assert t_mt[0, 0] < t_sa[1, 0] / 20


SHAPES = [MatMul(m=1, n=4096, k=4096), MatMul(m=16, n=6144, k=4096),
          MatMul(m=16384, n=28672, k=4096), MatMul(m=4, n=1025, k=128, groups=128),
          MatMul(m=1000, n=500.5, k=128, groups=64), MatMul(m=3, n=7, k=5)]


@pytest.mark.parametrize("mm", SHAPES, ids=lambda mm: f"{mm.m}x{mm.n}x{mm.k}x{mm.groups}")
@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_no_unit_beats_its_peak(mm, rate):
    names = ("ador-hetero", "ador-systolic", "ador-mactree", "a100-sxm-80gb", "h100-sxm-80gb")
    d = designs(*names)
    r = np.full((d.n, 1), rate)
    t_sa, _ = systolic_time(d=d, mm=mm, rate=r)
    t_mt, _ = mactree_time(d=d, mm=mm, rate=r)
    sa_peak = sa_macs_per_cycle(d) * d.clock_hz * rate
    mt_peak = mt_macs_per_cycle(d) * d.clock_hz * rate
    for i in range(d.n):
        if d.sa_count[i] > 0:
            assert macs(mm) / t_sa[i, 0] <= sa_peak[i] * (1 + 1e-12)
        else:
            assert np.isinf(t_sa[i, 0])
        if d.mt_count[i] > 0:
            assert macs(mm) / t_mt[i, 0] <= mt_peak[i] * (1 + 1e-12)
        else:
            assert np.isinf(t_mt[i, 0])
    both, share = best_matrix_time(t_sa, t_mt)
    assert np.all(macs(mm) / both[:, 0] <= (sa_peak + mt_peak) * (1 + 1e-12))
    assert np.all((share >= 0) & (share <= 1))


def test_output_stationary_respects_pe_count_and_split_k():
    d = designs("a100-sxm-80gb")
    for mm in SHAPES:
        cycles, elems = systolic_os_cycles(d=d, mm=mm)
        assert cycles[0, 0] >= macs(mm) / sa_macs_per_cycle(d)[0]
        # every operand element is read at least once from the global buffer
        assert elems[0, 0] >= (mm.m * mm.k + mm.n * mm.k) * mm.groups
    # without split-K a skinny GEMM leaves most SMs idle; with it, it is faster
    skinny = MatMul(m=16, n=1024, k=8192)
    no_split = DesignArrays(**{**d.__dict__, "sa_max_split_k": np.array([1.0])})
    assert systolic_os_cycles(d=d, mm=skinny)[0][0, 0] < systolic_os_cycles(
        d=no_split, mm=skinny)[0][0, 0]


def test_fp8_rate_halves_matrix_time():
    d = designs("ador-hetero")
    mm = MatMul(m=4096, n=4096, k=4096)
    t1, _ = systolic_time(d=d, mm=mm, rate=ONE)
    t2, _ = systolic_time(d=d, mm=mm, rate=2 * ONE)
    assert t2[0, 0] == pytest.approx(t1[0, 0] / 2)


def test_more_arrays_or_clock_never_slower():
    base = designs("ador-hetero")
    n = 6
    d = base.take(np.zeros(n, dtype=int))
    d = DesignArrays(**{**d.__dict__, "sa_count": np.array([1, 2, 4, 8, 16, 32.0]),
                        "mt_count": np.array([1, 2, 4, 8, 16, 32.0])})
    for mm in SHAPES:
        t_sa, _ = systolic_time(d=d, mm=mm, rate=np.ones((n, 1)))
        t_mt, _ = mactree_time(d=d, mm=mm, rate=np.ones((n, 1)))
        assert np.all(np.diff(t_sa[:, 0]) <= 1e-18)
        assert np.all(np.diff(t_mt[:, 0]) <= 1e-18)


def test_best_matrix_time_is_never_worse_than_either_unit():
    t_sa = np.array([[1.0], [np.inf], [2.0], [3.0]])
    t_mt = np.array([[1.0], [2.0], [np.inf], [1.0]])
    t, share = best_matrix_time(t_sa, t_mt)
    np.testing.assert_allclose(t[:, 0], [0.5, 2.0, 2.0, 0.75])
    np.testing.assert_allclose(share[:, 0], [0.5, 0.0, 1.0, 0.25])
    assert np.all(t <= np.minimum(t_sa, t_mt))


def test_vector_time_uses_lanes_and_special_pipes():
    d = designs("ador-hetero")  # 16 units x 256 lanes, 64 special ops, 1 GHz
    lanes = 16 * 256 * 1e9
    special = 16 * 64 * 1e9
    assert vector_time(d=d, ops=lanes, special=0.0)[0, 0] == pytest.approx(1.0)
    assert vector_time(d=d, ops=0.0, special=special)[0, 0] == pytest.approx(1.0)
    assert vector_time(d=d, ops=lanes, special=special)[0, 0] == pytest.approx(1.0)


def test_design_arrays_from_specs_and_take():
    d = designs("ador-hetero", "ador-systolic", "a100-sxm-80gb")
    assert d.n == 3
    np.testing.assert_array_equal(d.mt_count, [32, 0, 0])
    np.testing.assert_array_equal(d.sa_output_stationary, [0, 0, 1])
    assert d.hbm_bw[0] == pytest.approx(hardware("ador-hetero").chip.hbm.bandwidth_bytes_per_s)
    sub = d.take(np.array([2, 0]))
    assert sub.n == 2 and sub.sa_tile_rows.shape == (2, d.sa_tile_rows.shape[1])
    np.testing.assert_array_equal(DesignArrays.concat([sub, sub]).clock_hz,
                                  np.concatenate([sub.clock_hz, sub.clock_hz]))


def test_unit_times_per_geometry_group_equal_every_design_bit_for_bit(monkeypatch):
    """A large population with few unit geometries is costed once per geometry and
    gathered: the same bits as costing every design (grouping switched off)."""
    import dataclasses

    from ador.model import arrays
    from ador.model.design import DesignArrays
    from ador.model.units import mactree, systolic
    from ador.spec.io import load_hardware
    from ador.workload.operators import MatMul

    base = DesignArrays.from_specs([load_hardware(n) for n in (
        "ador-hetero", "ador-systolic", "ador-mactree", "a100-sxm-80gb")])
    rng = np.random.default_rng(5)
    d = base.take(rng.integers(0, base.n, 900))
    d = dataclasses.replace(d, clock_hz=rng.uniform(0.8e9, 1.6e9, d.n),
                            sa_count=rng.choice([0.0, 4.0, 8.0], d.n),
                            mt_count=rng.choice([0.0, 16.0, 32.0], d.n))
    first, group = d.distinct(("sa_rows", "sa_cols", "sa_count"))
    assert first.shape[0] < d.n // 4 and group.shape == (d.n,)
    assert np.array_equal(d.sa_count[first][group], d.sa_count)
    rate = np.ones((d.n, 1))
    ctx = np.arange(1025.0, 1057.0)
    for mm in (MatMul(m=4, n=ctx, k=128, groups=128.0), MatMul(m=16.0, n=4096, k=4096),
               MatMul(m=np.array([16.0, 1.0]), n=np.array([6144.0, 128256.0]),
                      k=np.array([4096.0, 4096.0]))):
        grouped = [f(d=d, mm=mm, rate=rate) for f in (systolic.systolic_time,
                                                        mactree.mactree_time)]
        monkeypatch.setattr(arrays, "MIN_GROUPED", 10**9)
        direct = [f(d=d, mm=mm, rate=rate) for f in (systolic.systolic_time,
                                                       mactree.mactree_time)]
        monkeypatch.undo()
        for g, w in zip(grouped, direct, strict=True):
            for a, b in zip(g, w, strict=True):
                assert a.shape == b.shape and a.tobytes() == b.tobytes()
