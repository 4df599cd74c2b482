"""The operator cost model's fast paths agree bit for bit with their plain forms."""

from __future__ import annotations

import numpy as np
import pytest

from ador.model.design import DesignArrays
from ador.model.opcost import op_cost, overlap, overlap2
from ador.spec.io import load_hardware, load_model
from ador.spec.scenario import Scenario
from ador.workload.transformer import decode_contexts, decode_ops


@pytest.mark.parametrize("k", [np.inf, 1.0, 1.967, 2.03, 7.5])
def test_overlap_of_two_parts_equals_the_stacked_norm_bit_for_bit(k):
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 2, (50, 8)) * (rng.uniform(size=(50, 8)) > 0.1)
    b = rng.uniform(0, 2, (50, 1))
    kk = np.full((50, 1), k)
    kk[::7] = np.inf  # some designs overlap perfectly, others not
    want = overlap(np.stack(np.broadcast_arrays(a, b)), kk)
    assert overlap2(a, b, kk).tobytes() == want.tobytes()
    # never below the larger part, never above the sum (triangle inequality of the norm)
    assert np.all(overlap2(a, b, kk) >= np.maximum(a, b))
    assert np.all(overlap2(a, b, kk) <= (a + b) * (1 + 1e-12))


def test_bound_at_one_column_is_that_column_of_the_full_bound():
    spec = load_hardware("a100-sxm-80gb")
    d = DesignArrays.from_specs([spec, spec])
    scen = Scenario(batch=8, input_len=512, output_len=128)
    ctx, w = decode_contexts(scen)
    for op in decode_ops(load_model("llama3-8b"), scen, ctx):
        c = op_cost(d=d, op=op, rate=np.ones((2, 1)), tp=1)
        full = np.broadcast_to(c.bound, (2, w.shape[0]))
        for j in (0, w.shape[0] // 2, w.shape[0] - 1):
            assert np.array_equal(c.bound_at(shape=(2, w.shape[0]), column=j), full[:, j])
        assert set(np.unique(full)) <= {0, 1, 2, 3, 4}


@pytest.mark.parametrize("tp", [1, 4])
def test_operators_costed_together_equal_one_by_one_bit_for_bit(tp):
    from dataclasses import fields

    from ador.model.opcost import design_terms, op_costs
    from ador.workload.transformer import prefill_ops

    specs = [load_hardware(n) for n in ("a100-sxm-80gb", "ador-hetero", "ador-mactree",
                                         "ador-systolic")]
    d = DesignArrays.from_specs(specs)
    scen = Scenario.uniform(precision="fp8" if tp > 1 else "fp16", batch=8, input_len=512,
                            output_len=64, tp=tp)
    rate = np.full((d.n, 1), 2.0 if tp > 1 else 1.0)
    ctx, _ = decode_contexts(scen)
    model = load_model("llama3-8b")
    for ops in (prefill_ops(model, scen), decode_ops(model, scen, ctx)):
        together = op_costs(d=d, ops=ops, rate=rate, tp=tp, terms=design_terms(d=d, rate=rate))
        assert len(together) == len(ops)
        for op, got in zip(ops, together, strict=True):
            want = op_cost(d=d, op=op, rate=rate, tp=tp)
            for f in fields(want):
                a, b = getattr(want, f.name), getattr(got, f.name)
                for x, y in (zip(a.values(), b.values(), strict=True) if isinstance(a, dict)
                             else [(a, b)]):
                    assert x.shape == y.shape and x.tobytes() == y.tobytes(), (op.name, f.name)


def test_first_largest_part_is_numpys_argmax():
    from ador.model.opcost import _first_max

    rng = np.random.default_rng(11)
    values = np.array([0.0, -0.0, 1.0, 2.0, np.inf, 1e-300])
    for nan in (False, True):
        parts = [rng.choice(values, (5, 400)) for _ in range(4)]
        if nan:
            parts[2][1, 7] = np.nan
        want = np.stack(parts, axis=1).argmax(axis=1)
        got = _first_max(parts)
        assert got.dtype == want.dtype and np.array_equal(got, want)
