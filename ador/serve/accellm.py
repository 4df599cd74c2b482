"""AcceLLM's pieces (arXiv 2411.05555): instances in pairs (chips 2k and 2k+1), every chip
able to take either role at any time.

- Prefill routing (``pair_prefill_router``): the cluster's router picks a pair; within it
  the prompt goes to the chip that is free sooner (least outstanding prefill work, a fluid
  backlog of prefill seconds drained in real time; ties alternate). A chip is in the
  prefill role while it runs a prefill.
- Decode placement (``accellm_plan``): a copied request (its KV duplicated layer by layer
  to the partner during the prefill) decodes on the less loaded of its two holders, the
  others where they were prefilled.
- Each chip's decode runs around its own prefill windows (``ador.serve.stepviews.RoleStep``):
  prefill has priority, so the share of a chip's time in the prefill role is an outcome
  (``prefill_time_shares``), not a setting.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ador.serve.routers import ROUTERS


def copied_mask(n: int, redundancy: float) -> np.ndarray:
    """Which of n requests get a copy: evenly spread, exactly floor(n x redundancy)."""
    i = np.arange(n)
    return np.floor((i + 1) * redundancy) > np.floor(i * redundancy)


def pair_prefill_router(router: str) -> Callable[..., np.ndarray]:
    """A router over chips in pairs: ``router`` picks the pair (each pair seen as one of
    its chips: pairs are alike), then the pair's chip with the smaller prefill backlog
    (seconds of prompts sent to it at its prefill speed, drained in real time) takes the
    prompt; at equal backlogs the pair's chips take turns."""
    def route(*, arrival_s, prompt, output, targets) -> np.ndarray:
        pairs = ROUTERS[router](arrival_s=arrival_s, prompt=prompt, output=output,
                                targets=targets[::2])
        ps = np.array([t.prefill_tokens_per_s for t in targets])
        backlog = np.zeros(len(targets))
        turn = np.zeros(len(targets) // 2, dtype=np.int64)
        last = 0.0
        out = np.empty(len(arrival_s), dtype=np.int64)
        for i, (t, p, k) in enumerate(zip(arrival_s.tolist(), prompt.tolist(),
                                          pairs.tolist(), strict=True)):
            backlog = np.maximum(backlog - (t - last), 0.0)
            last = t
            a, b = 2 * k, 2 * k + 1
            if backlog[a] == backlog[b]:
                c = a + int(turn[k])
                turn[k] ^= 1
            else:
                c = a if backlog[a] < backlog[b] else b
            out[i] = c
            backlog[c] += p / ps[c]
        return out
    return route


def accellm_plan(redundancy: float):
    """Decode placement: a copied request decodes on the less loaded of its two holders
    (fluid backlog of decode seconds, as ``least_work``), the others on the chip that
    prefilled it (``pair`` gives that chip)."""
    def plan(*, pair, ready_s, prompt, output, targets):
        copied = copied_mask(pair.shape[0], redundancy)
        src = np.asarray(pair, dtype=np.int64)
        ds = np.array([t.decode_tokens_per_s for t in targets])
        backlog = np.zeros(len(targets))
        last = 0.0
        dst = src.copy()
        for j in np.argsort(ready_s, kind="stable").tolist():
            dt = ready_s[j] - last
            last = ready_s[j]
            backlog = np.maximum(backlog - dt, 0.0)
            a = int(src[j])
            if copied[j]:
                b = a ^ 1  # the partner
                w = output[j] / ds
                dst[j] = a if backlog[a] + w[a] <= backlog[b] + w[b] else b
            backlog[dst[j]] += output[j] / ds[dst[j]]
        return dst, copied
    return plan


def prefill_time_shares(series: dict, *, chips: int, span_s: float) -> np.ndarray:
    """Measured share of each chip's time in the prefill role: its prefill iterations'
    busy seconds over the run's span (``series``: the merged per-iteration series, prefill
    instances numbered 0 .. chips - 1)."""
    inst, busy, ptok = series["instance"], series["busy_s"], series["prefill_tokens"]
    pre = (inst < chips) & (ptok > 0)
    out = np.bincount(inst[pre], weights=busy[pre], minlength=chips)[:chips]
    return out / span_s if span_s > 0 else np.zeros(chips)
