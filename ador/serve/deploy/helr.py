"""HELR: latency-minimising placement of a model's layers on devices (UELLM, arXiv
2409.14961, section 4.3), by dynamic programming.

A placement is a pipeline: a sequence of distinct devices, each holding a contiguous run of
layers (at least one). Its latency is the sum of each layer's time on the device holding
it plus, between consecutive devices d -> e, the hop cost ``hop_s[d, e]`` (the activations
crossing the link, for every pass of the batch); a placement is feasible when each device's
layers fit its memory. The dynamic programme runs over (devices used as a bitmask, last
device, layers placed): for each state and each next device, every segment length at once
(numpy), so its cost is O(2^D x D^2 x L^2) elementary operations for D devices and L layers.
Ties go to fewer devices, then lower device indices.

``layer_costs`` derives the inputs from ador's step-time models of each device: a layer's
time is the device's time for the representative batch (prefill plus every decode step)
divided by the number of layers (embedding and sampling head spread over the layers), a
layer's memory is its weights plus its KV cache for the batch, and a hop is the batch's
activations (tokens x hidden x 2 bytes at fp16) over the link's bandwidth plus its latency,
once per pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError
from ador.serve.stepmodel import StepModel
from ador.spec.model import ModelSpec

MAX_DEVICES = 12  # the bitmask programme is exponential in the number of devices


@dataclass(frozen=True)
class Placement:
    """Devices of the pipeline in order, layers per device, and the latency (s)."""

    devices: tuple[int, ...]
    layers: tuple[int, ...]
    latency_s: float

    @property
    def assignment(self) -> tuple[int, ...]:
        """The device of each layer."""
        return tuple(d for d, k in zip(self.devices, self.layers, strict=True) for _ in range(k))


def _check(*, layer_time_s, layer_bytes, memory_bytes, hop_s) -> tuple:
    t = np.asarray(layer_time_s, dtype=np.float64)
    m = np.asarray(layer_bytes, dtype=np.float64)
    cap = np.asarray(memory_bytes, dtype=np.float64)
    hop = np.asarray(hop_s, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] < 1:
        raise AdorError("layer times must be a (devices, layers) array",
                        field="layer_time_s", value=t.shape)
    n_dev, n_lay = t.shape
    if not 1 <= n_dev <= MAX_DEVICES:
        raise AdorError(f"between 1 and {MAX_DEVICES} devices", field="devices", value=n_dev)
    if m.shape != (n_lay,) or cap.shape != (n_dev,) or hop.shape != (n_dev, n_dev):
        raise AdorError("layer_bytes (layers,), memory_bytes (devices,) and hop_s "
                        "(devices, devices) must match the layer times",
                        field="placement inputs", value=(m.shape, cap.shape, hop.shape))
    if np.any(~np.isfinite(t)) or np.any(t < 0) or np.any(m < 0) or np.any(hop < 0):
        raise AdorError("layer times, layer bytes and hop costs must be finite and >= 0",
                        field="placement inputs")
    return t, m, cap, hop


def helr_place(*, layer_time_s, layer_bytes, memory_bytes, hop_s) -> Placement:
    """The feasible placement of least latency (``AdorError`` when none exists).

    ``layer_time_s[d, l]``: seconds of layer l on device d; ``layer_bytes[l]``: memory of
    layer l; ``memory_bytes[d]``: what device d can hold; ``hop_s[d, e]``: seconds to move
    the activations from device d to device e (``inf``: no link)."""
    t, m, cap, hop = _check(layer_time_s=layer_time_s, layer_bytes=layer_bytes,
                           memory_bytes=memory_bytes, hop_s=hop_s)
    n_dev, n_lay = t.shape
    cum_t = np.concatenate([np.zeros((n_dev, 1)), np.cumsum(t, axis=1)], axis=1)
    cum_m = np.concatenate([[0.0], np.cumsum(m)])
    # seg[d][a, b]: time of layers a..b-1 on device d, inf where they do not fit or b <= a
    a = np.arange(n_lay + 1)[:, None]
    b = np.arange(n_lay + 1)[None, :]
    seg = []
    for d in range(n_dev):
        s = cum_t[d][b] - cum_t[d][a]
        ok = (b > a) & (cum_m[b] - cum_m[a] <= cap[d])
        seg.append(np.where(ok, s, np.inf))
    n_mask = 1 << n_dev
    # best[mask][d]: latency by layers placed (index = layers), last device d
    best = np.full((n_mask, n_dev, n_lay + 1), np.inf)
    back = np.full((n_mask, n_dev, n_lay + 1, 2), -1, dtype=np.int64)  # (previous device, start)
    for d in range(n_dev):
        best[1 << d, d] = seg[d][0]
        back[1 << d, d, :, 0] = -1
        back[1 << d, d, :, 1] = 0
    for mask in range(1, n_mask):  # masks only grow, so increasing order is topological
        for d in range(n_dev):
            if not mask >> d & 1:
                continue
            cur = best[mask, d]
            if not np.isfinite(cur[:n_lay]).any():
                continue
            for e in range(n_dev):
                if mask >> e & 1 or not np.isfinite(hop[d, e]):
                    continue
                cand = cur[:, None] + hop[d, e] + seg[e]  # (start, end)
                start = np.argmin(cand, axis=0)
                val = cand[start, np.arange(n_lay + 1)]
                nm = mask | 1 << e
                better = val < best[nm, e]
                best[nm, e] = np.where(better, val, best[nm, e])
                back[nm, e, better, 0] = d
                back[nm, e, better, 1] = start[better]
    return _best_placement(best, back, n_dev=n_dev, n_lay=n_lay)


def _best_placement(best, back, *, n_dev: int, n_lay: int) -> Placement:
    top = None
    for mask in sorted(range(1, 1 << n_dev), key=lambda x: (bin(x).count("1"), x)):
        for d in range(n_dev):
            v = best[mask, d, n_lay]
            if np.isfinite(v) and (top is None or v < top[0] * (1 - 1e-12)):
                top = (float(v), mask, d)
    if top is None:
        raise AdorError("the model's layers fit on no set of these devices",
                        field="memory_bytes")
    latency, mask, d = top
    devices, layers, end = [], [], n_lay
    while d >= 0:
        prev, start = back[mask, d, end]
        devices.append(d)
        layers.append(end - int(start))
        mask &= ~(1 << d)
        end, d = int(start), int(prev)
    return Placement(devices=tuple(reversed(devices)), layers=tuple(reversed(layers)),
                     latency_s=latency)


def layer_costs(*, steps: list[StepModel], model: ModelSpec, batch: int, prompt_tokens: int,
                output_tokens: int, link_bytes_per_s, link_latency_s) -> dict:
    """HELR's inputs for one representative static batch (``batch`` requests padded to
    ``prompt_tokens`` + ``output_tokens``) on the devices of ``steps`` (one-chip step
    models): per-layer times and memory, device memory, hop costs. ``link_bytes_per_s`` and
    ``link_latency_s`` are (devices, devices) arrays of the topology (0 bandwidth: no
    link)."""
    n_lay = model.layers
    times = []
    for s in steps:
        if s.chips != 1:
            raise AdorError("HELR places layers on single devices: step models must be "
                            "built with tp = pp = 1", field="steps", value=s.chips)
        pre = s.time(tokens=batch * prompt_tokens, sampled=batch, decode_n=0,
                     decode_ctx_sum=0, chunks=[(prompt_tokens, 0)] * batch)
        dec = s.decode_times(batch, batch * (prompt_tokens + 1), output_tokens - 1) \
            if output_tokens > 1 else np.zeros(0)
        times.append(np.full(n_lay, (pre + float(np.sum(dec))) / n_lay))
    s0 = steps[0]
    per_layer_kv = s0.kv_bytes_per_token / n_lay
    layer_bytes = np.full(n_lay, s0.weight_bytes_per_chip / n_lay
                          + per_layer_kv * batch * (prompt_tokens + output_tokens))
    memory = np.array([s.hbm_bytes_per_chip - s.activation_reserve_bytes for s in steps])
    bw = np.asarray(link_bytes_per_s, dtype=np.float64)
    lat = np.asarray(link_latency_s, dtype=np.float64)
    act = 2.0 * model.hidden
    with np.errstate(divide="ignore"):
        per_pass = np.where(bw > 0, lat + act * batch / np.where(bw > 0, bw, 1.0), np.inf)
        prefill = np.where(bw > 0, lat + act * batch * prompt_tokens / np.where(bw > 0, bw, 1.0),
                           np.inf)
    hop = prefill + per_pass * (output_tokens - 1)
    np.fill_diagonal(hop, 0.0)
    return {"layer_time_s": np.array(times), "layer_bytes": layer_bytes,
            "memory_bytes": memory, "hop_s": hop}
