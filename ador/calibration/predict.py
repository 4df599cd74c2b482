"""Model predictions for the measured operators, vectorized over candidate parameter sets.

Each candidate calibration is one row of a DesignArrays (same chip, different efficiencies),
so a whole batch of candidates is predicted in one call.
"""

from __future__ import annotations

import numpy as np

from ador.model.design import DesignArrays
from ador.model.interconnect import allreduce_time
from ador.model.opcost import op_cost
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario
from ador.workload.operators import Operator, Stage
from ador.workload.transformer import (
    _head_tail,
    decode_attention,
    layer_ops,
    prefill_attention,
    shard,
)


def _shard(model: ModelSpec, tp: int):
    return shard(model, Scenario(batch=1, input_len=1, output_len=1, tp=tp))


def mlp_operator(*, model: ModelSpec, tp: int, tokens: np.ndarray, op: str) -> Operator:
    """The ador operator that a per-layer kernel measurement of ``op`` corresponds to."""
    s = _shard(model, tp)
    t = np.asarray(tokens, dtype=np.float64)
    if op == "embedding":
        return _head_tail(s, Stage.PREFILL, tokens=t, last_tokens=t)[0][0]
    dummy = prefill_attention(s, batch=1, seq=1)
    ops = {o.name: o for o in layer_ops(s, Stage.PREFILL, tokens=t, batch=1, attention=dummy)}
    return ops[op]


def kernel_time(*, designs: DesignArrays, op: Operator, tp: int) -> np.ndarray:
    """Predicted kernel duration (n_candidates, k). The collective is not part of it."""
    return op_cost(d=designs, op=op, rate=np.ones((designs.n, 1)), tp=tp).time


def attention_operator(*, model: ModelSpec, tp: int, prefill: bool, batch: int, chunk: int,
                       context: int) -> Operator:
    s = _shard(model, tp)
    if prefill:
        return prefill_attention(s, batch=batch, seq=chunk, prior=context)
    return decode_attention(s, batch=batch, context=np.asarray([float(context)]))


def allreduce_prediction(*, designs: DesignArrays, chips: np.ndarray, size_bytes: np.ndarray
                         ) -> np.ndarray:
    out = np.empty((designs.n, len(size_bytes)))
    for p in np.unique(chips):
        sel = chips == p
        out[:, sel] = allreduce_time(d=designs, size_bytes=size_bytes[sel], p=int(p))
    return out
