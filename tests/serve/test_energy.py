"""Serving energy accounting: idle at zero load, monotone in activity, energy = power x time,
hand-counted bytes and MACs, and runs never above the board limit."""

from __future__ import annotations

import numpy as np
import pytest

from ador.model.area import area
from ador.model.board_power import idle_power_w
from ador.model.design import DesignArrays
from ador.serve.energy import durations, iteration_activity, serving_power
from ador.spec.precision import Precision
from tests.conftest import hardware, model

H100 = "h100-sxm-80gb"


def series(n=4, prefill=0.0, decode=0.0, kv=0.0, busy=0.0, dt=0.01):
    t = dt * np.arange(1, n + 1)
    return {"t_s": t, "prefill_tokens": np.full(n, prefill), "decode_tokens": np.full(n, decode),
            "kv_used_tokens": np.full(n, kv), "busy_s": np.full(n, busy)}


def power(**kw):
    tp = kw.pop("tp", 1)
    return serving_power(hardware=hardware(H100), model=model("llama3-8b"),
                         timeseries=series(**kw), tp=tp, precision="bf16")


def test_zero_load_draws_idle_power():
    p = power()
    d = DesignArrays.from_specs([hardware(H100)])
    idle = float(idle_power_w(designs=d, area_mm2=area(designs=d).total)[0])
    assert p.average_power_w == pytest.approx(idle)
    assert np.allclose(p.power_w, idle)


def test_power_is_monotone_in_activity():
    base = dict(prefill=64.0, decode=32.0, kv=20000.0, busy=0.006)
    p0 = power(**base).average_power_w
    for key, more in (("prefill", 512.0), ("decode", 128.0), ("kv", 80000.0), ("busy", 0.009)):
        assert power(**{**base, key: more}).average_power_w > p0, key


def test_energy_per_token_is_power_times_time_over_tokens():
    for tp in (1, 2):
        p = power(prefill=100.0, decode=64.0, kv=30000.0, busy=0.008, tp=tp)
        assert p.energy_per_output_token_j == pytest.approx(
            p.average_power_w * tp * p.wall_s / p.output_tokens, rel=1e-12)
        assert p.energy_j_total == pytest.approx(float(np.sum(p.power_w * p.duration_s)) * tp)
        assert sum(p.components_w.values()) == pytest.approx(p.average_power_w)


def test_hand_counted_activity():
    m = model("llama3-8b")
    a = iteration_activity(model=m, tp=2, prefill_tokens=np.array([0.0, 10.0]),
                           decode_tokens=np.array([4.0, 0.0]),
                           kv_used_tokens=np.array([1000.0, 0.0]),
                           weight_precision=Precision.BF16, kv_precision=Precision.BF16)
    weights = (m.params - m.embedding_params) * 2 / 2
    kv = m.kv_bytes_per_token(2) / 2
    assert a.hbm_bytes[0] == pytest.approx(weights + (1000 + 4) * kv)
    assert a.hbm_bytes[1] == pytest.approx(weights + 10 * kv)
    layer = m.layers * m.params_per_layer / 2
    attention = 2 * m.layers * m.q_dim / 2 * 1000  # 4 decodes over 1000 tokens of context
    assert a.decode_macs[0] == pytest.approx(4 * (layer + m.lm_head_params / 2) + attention)
    assert a.prefill_macs[1] == pytest.approx(10 * layer)  # no context yet
    assert a.link_bytes[0] == pytest.approx(4 * 2 * m.layers * m.hidden * 2 * 2 * 1 / 2)


def test_durations_cover_idle_gaps():
    t = np.array([1.0, 2.0, 5.0])
    busy = np.array([1.0, 1.0, 1.0])
    assert np.allclose(durations(t, busy), [1.0, 1.0, 3.0])
    assert np.allclose(durations(t, busy, start_s=0.0), [1.0, 1.0, 3.0])
    assert np.allclose(durations(t, busy, start_s=-1.0), [2.0, 1.0, 3.0])
