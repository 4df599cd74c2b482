"""HELR placement: the dynamic programme against brute force, memory limits, topology."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ador.errors import AdorError
from ador.serve.deploy import helr_place, layer_costs
from ador.serve.steptime import build_step_model
from tests.conftest import hardware, model


def brute_force(t, m, cap, hop):
    """Every layer-to-device map whose devices hold contiguous runs (a pipeline)."""
    n_dev, n_lay = t.shape
    best = None
    for assign in itertools.product(range(n_dev), repeat=n_lay):
        runs = [d for d, _ in itertools.groupby(assign)]
        if len(set(runs)) != len(runs):
            continue
        mem = np.zeros(n_dev)
        for layer, d in enumerate(assign):
            mem[d] += m[layer]
        if np.any(mem > cap):
            continue
        lat = sum(t[d, k] for k, d in enumerate(assign)) + sum(
            hop[a, b] for a, b in zip(assign, assign[1:]) if a != b)
        if best is None or lat < best:
            best = lat
    return best


@pytest.mark.parametrize("seed", range(25))
def test_dynamic_programme_finds_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    n_dev, n_lay = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    t = rng.uniform(1, 5, (n_dev, n_lay))
    m = rng.uniform(1, 3, n_lay)
    cap = rng.uniform(2, 9, n_dev)
    hop = rng.uniform(0, 2, (n_dev, n_dev))
    hop[rng.random((n_dev, n_dev)) < 0.2] = np.inf  # some pairs have no link
    np.fill_diagonal(hop, 0.0)
    best = brute_force(t, m, cap, hop)
    if best is None:
        with pytest.raises(AdorError):
            helr_place(layer_time_s=t, layer_bytes=m, memory_bytes=cap, hop_s=hop)
        return
    p = helr_place(layer_time_s=t, layer_bytes=m, memory_bytes=cap, hop_s=hop)
    assert p.latency_s == pytest.approx(best, rel=1e-12)
    # the placement is what it claims: contiguous, feasible, latency recomputed
    a = p.assignment
    assert len(a) == n_lay and len(set(p.devices)) == len(p.devices)
    lat = sum(t[d, k] for k, d in enumerate(a)) + sum(hop[x, y] for x, y in zip(a, a[1:])
                                                      if x != y)
    assert lat == pytest.approx(p.latency_s, rel=1e-12)
    for d, k in zip(p.devices, p.layers):
        assert sum(m[j] for j, x in enumerate(a) if x == d) <= cap[d]


def test_one_device_when_the_model_fits_else_the_cheapest_split():
    t = np.ones((3, 4))
    hop = np.full((3, 3), 0.5)
    np.fill_diagonal(hop, 0.0)
    one = helr_place(layer_time_s=t, layer_bytes=np.ones(4), memory_bytes=np.full(3, 4.0),
                     hop_s=hop)
    assert one.devices == (0,) and one.latency_s == 4.0
    # memory for 2 layers per device: two devices, one hop; the faster device gets layers
    t2 = np.array([[1.0] * 4, [2.0] * 4, [0.5] * 4])
    two = helr_place(layer_time_s=t2, layer_bytes=np.ones(4), memory_bytes=np.full(3, 2.0),
                     hop_s=hop)
    assert sorted(two.devices) == [0, 2] and two.latency_s == pytest.approx(2 * 0.5 + 2 + 0.5)
    with pytest.raises(AdorError):
        helr_place(layer_time_s=t, layer_bytes=np.ones(4), memory_bytes=np.full(3, 1.0),
                   hop_s=hop)


def test_layer_costs_from_step_models_pick_one_a100_for_llama2_13b():
    m = model("llama2-13b")
    sm = build_step_model(hardware=hardware("a100-sxm-80gb"), model=m, max_tokens=16384,
                          max_batch=64)
    bw = np.full((4, 4), 25e9)
    inputs = layer_costs(steps=[sm] * 4, model=m, batch=10, prompt_tokens=512,
                         output_tokens=256, link_bytes_per_s=bw,
                         link_latency_s=np.full((4, 4), 1e-5))
    assert inputs["layer_time_s"].shape == (4, m.layers)
    assert inputs["layer_bytes"].sum() < inputs["memory_bytes"][0]
    p = helr_place(**inputs)
    assert len(p.devices) == 1 and p.layers == (m.layers,)
    # a device too small for the model forces a split with hops
    small = dict(inputs, memory_bytes=np.full(4, 0.4 * inputs["layer_bytes"].sum()))
    q = helr_place(**small)
    assert len(q.devices) == 3 and q.latency_s > p.latency_s
