"""Routers: which instance of a pool each request goes to.

A router sees what a real front end sees: arrival times, request lengths and its own record
of what it sent where; not the engines' internal state. Instances may differ (hardware, TP),
so each has prefill and decode speeds (tokens/s at full load, from its step model) and a KV
capacity (tokens); a request's work on an instance is prompt / prefill speed + output /
decode speed seconds:

- ``round_robin``: request i to instance i mod k.
- ``least_work``: least outstanding work: the router keeps a fluid estimate of each
  instance's backlog (seconds of work sent, drained in real time) and picks the instance
  that would finish the new request first.
- ``kv_aware``: the instance with the most free KV, by the router's count of the KV tokens
  of requests it sent that it estimates still running (backlog-drained), relative to
  capacity; ties by lower backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RouteTarget:
    """What a router knows of an instance."""

    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    kv_capacity_tokens: int


def round_robin(*, arrival_s, prompt, output, targets) -> np.ndarray:
    k = len(targets)
    return np.arange(len(arrival_s)) % k


def _fluid(*, arrival_s, prompt, output, targets, key) -> np.ndarray:
    k = len(targets)
    ps = np.array([t.prefill_tokens_per_s for t in targets])
    ds = np.array([t.decode_tokens_per_s for t in targets])
    cap = np.array([t.kv_capacity_tokens for t in targets], dtype=np.float64)
    backlog = np.zeros(k)  # seconds of work not yet served
    kv_held = np.zeros(k)  # KV tokens of requests estimated still running
    last = 0.0
    out = np.empty(len(arrival_s), dtype=np.int64)
    for i, (t, p, o) in enumerate(zip(arrival_s.tolist(), prompt.tolist(), output.tolist(),
                                      strict=True)):
        dt = t - last
        last = t
        w = p / ps + o / ds
        kv = p + o
        drained = np.minimum(backlog, dt)
        frac = np.where(backlog > 0, drained / np.maximum(backlog, 1e-12), 1.0)
        kv_held -= kv_held * frac
        backlog -= drained
        j = int(key(backlog, kv_held, cap, w, kv))
        out[i] = j
        backlog[j] += w[j]
        kv_held[j] += kv
    return out


def least_work(*, arrival_s, prompt, output, targets) -> np.ndarray:
    return _fluid(arrival_s=arrival_s, prompt=prompt, output=output, targets=targets,
                  key=lambda b, h, c, w, kv: np.argmin(b + w))


def kv_aware(*, arrival_s, prompt, output, targets) -> np.ndarray:
    return _fluid(arrival_s=arrival_s, prompt=prompt, output=output, targets=targets,
                  key=lambda b, h, c, w, kv: np.lexsort((b + w, (h + kv) / c))[0])


ROUTERS: dict[str, Callable[..., np.ndarray]] = {
    "round_robin": round_robin, "least_work": least_work, "kv_aware": kv_aware}
