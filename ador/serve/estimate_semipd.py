"""Analytical estimate of semi-PD serving for many designs at once.

The fast fidelity of a semi-PD deployment (arXiv 2504.19867): one instance of TP ``tp``
whose prefill worker and decode worker share the chip, as ``ador cluster``
(``ador.serve.policies.run_semi_pd``) simulates it: one weight copy, the prompt's KV left
where the prefill wrote it (no transfer), each worker holding a share of the compute
units. It is the disaggregated estimate (:mod:`ador.serve.estimate_pd`) with one prefill
and one decode "instance" on the same chip, no link, and each worker's iteration times
taken at its share, as the simulator's step view does (``ador.serve.stepviews.ShareStep``):

- Effective shares: ``semi_pd_shares`` (the simulator's rule, contention on): when the two
  shares x + y sum above 1 the compute-bound prefill gets what the bandwidth-bound decode
  leaves, x' = min(x, 1 - 0.26 y) (decode keeps under 26% of the compute busy), the decode
  keeps y' = y. The simulator charges these shares all the time (conservative: a worker
  alone would get its whole share); so does the estimate.
- Prefill worker: every iteration prefills, and a prefill-bearing iteration is
  compute-bound: its whole step time scales by 1 / x' (ShareStep's prefill factor, exponent
  1). The prefill service S of a prompt is a whole prompt's iteration (vLLM) or, with a
  chunked scheduler (the worker runs the design's scheduler, Sarathi-Serve's chunks
  included), its share I / C of full iterations of the token budget C plus its prefill
  attention (tokens of waiting prompts packed into each iteration); S and its moments
  scale by 1 / x' (E[S^k] by x'^-k). Prompts queue FIFO on the worker: the M/G/1 wait of
  the colocated estimate (Poisson arrivals to one worker). TTFT = wait + S (the first
  token comes from the prefill worker when its prefill ends).
- Decode worker: decode-only continuous batching that prefills never stall; a decode
  iteration is bandwidth-bound and takes t_e(B) / bandwidth_share(y')
  (``ador.serve.stepviews.bandwidth_share``: the HBM bandwidth a share of the compute
  units reaches, 1 - (1 - y')^4.1). Little's law B = L E[O - 1] t_e(B) as in the
  disaggregated estimate; TPOT of a request = t_e(B) (no transfer, no stalls). A chunked
  decode worker (Sarathi-Serve, TensorRT-LLM) takes a request's prompt in, at no compute
  (its KV is in place), in chunks of the budget left by the decodes, one iteration each:
  its first decode comes ceil(I / (C - B)) iterations after its first token, TPOT =
  t_e(B) (1 + ceil(I / (C - B)) / (O - 1)) (the simulator's decode worker runs the
  design's scheduler; vLLM takes the prompt in one iteration without decodes, at no
  cost).
- KV: each worker is capped by the chip's KV cache, as the simulator gives each worker
  view the chip's pool (the prefill worker holds a prompt's KV only until its first token,
  then the decode worker takes it over in place).
- Goodput, max throughput, P99s and attainment as in the disaggregated estimate.

Left out, beside what the disaggregated estimate leaves out: the two workers' contention
for the one KV pool (the simulator leaves it out too), and a worker running alone at more
than its share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ador.errors import AdorError
from ador.model.design import DesignArrays
from ador.serve.estimate import (
    ServingEstimate,
    _Point,
    _Setup,
)
from ador.serve.estimate_pd import _decode_only, _Pd, _whole_prompts, worker_setups
from ador.serve.policies import semi_pd_shares
from ador.serve.stepviews import bandwidth_share
from ador.spec.model import ModelSpec
from ador.spec.scheduler import SchedulerConfig

# time fields of the estimate's setup and the power of the time scale each carries
# (m_i*: token moments, unscaled; m_ia = E[I A]: one time factor; m_ia2 = E[I A^2]: two)
_TIME_POWERS = {"step": 1, "fill": 1, "attn": 1, "whole": 1, "m_a": 1, "m_a2": 2,
                "m_ia": 1, "m_s": 1, "m_s2": 2, "m_s3": 3, "m_i2a": 1, "m_ia2": 2,
                "m_a3": 3}


def estimate_semi_pd(
        *, designs: DesignArrays, model: ModelSpec, tp: np.ndarray, precision: str = "fp16",
        prompt_tokens: np.ndarray, output_tokens: np.ndarray,
        scheduler: Sequence[SchedulerConfig] | SchedulerConfig,
        prefill_share: float | np.ndarray, decode_share: float | np.ndarray,
        rate_per_s: float | np.ndarray, ttft_slo_s: float, tpot_slo_s: float,
        attainment: float = 0.9) -> ServingEstimate:
    """Estimated serving figures of one semi-PD instance of each design (row r: TP
    ``tp[r]``, workers' shares ``prefill_share[r]`` and ``decode_share[r]`` of the compute
    units, each in (0, 1]) under Poisson arrivals at ``rate_per_s`` requests/s. Batch and
    busy figures are the decode worker's and the prefill worker's."""
    n = designs.n
    tp, rate, pre, dec, capacity = worker_setups(
        prefill=designs, decode=designs, model=model, tp=tp, precision=precision,
        prompt_tokens=prompt_tokens, output_tokens=output_tokens, scheduler=scheduler,
        rate_per_s=rate_per_s, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
        attainment=attainment)
    x, y = effective_shares(n=n, prefill_share=prefill_share, decode_share=decode_share)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bw = np.array([bandwidth_share(float(s)) for s in y])
        one = np.ones(n)
        pd = _SemiPd(pre=_slowed(_prefill_worker(pre), 1.0 / x),
                     dec=_slowed(_decode_only(dec), 1.0 / bw), x=one, y=one,
                     transfer=np.zeros((n, dec.prompt.size)), chunked=dec.chunked)
        return pd.estimate(rate=rate, capacity=capacity, ttft=ttft_slo_s, tpot=tpot_slo_s,
                           target=attainment)


def effective_shares(*, n: int, prefill_share: float | np.ndarray,
                     decode_share: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each design's (prefill, decode) shares as the simulator runs them
    (``semi_pd_shares`` with contention); shares outside (0, 1] are refused."""
    out = []
    for name, v in (("prefill_share", prefill_share), ("decode_share", decode_share)):
        a = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
        bad = ~np.isfinite(a) | (a <= 0) | (a > 1)
        if np.any(bad):
            raise AdorError("a worker's share of the compute units must lie in (0, 1]",
                            field=name, value=float(a[np.argmax(bad)]))
        out.append(a)
    pairs = [semi_pd_shares(prefill_share=float(a), decode_share=float(b), contention=True)
             for a, b in zip(*out, strict=True)]
    return (np.array([p for p, _ in pairs], dtype=np.float64),
            np.array([d for _, d in pairs], dtype=np.float64))


def _prefill_worker(u: _Setup) -> _Setup:
    """The prefill worker at full speed: whole prompts FIFO (vLLM), or, for a chunked
    scheduler (Sarathi-Serve, TensorRT-LLM), prompt tokens packed into iterations of the
    token budget C: a prompt of I tokens takes I / C full iterations t_f (part(C) + tail
    + one decode's attention, the estimate's chunked iteration at the smallest batch) plus
    its prefill attention, S = a I + A with a = t_f / C, and E[S^k] from the sample's joint
    moments of I and A (as the colocated estimate's chunked prefill path)."""
    ch = u.chunked
    a = (u.step[:, 0] + u.fill[:, 0]) / np.maximum(u.budget, 1.0)
    whole = np.where(ch[:, None], a[:, None] * u.prompt[None, :] + u.attn, u.whole)
    m_s = np.where(ch, a * u.m_i + u.m_a, u.m_s)
    m_s2 = np.where(ch, a**2 * u.m_i2 + 2 * a * u.m_ia + u.m_a2, u.m_s2)
    m_s3 = np.where(ch, a**3 * u.m_i3 + 3 * a**2 * u.m_i2a + 3 * a * u.m_ia2 + u.m_a3,
                    u.m_s3)
    return replace(_whole_prompts(u), whole=whole, m_s=m_s, m_s2=m_s2, m_s3=m_s3)


class _SemiPd(_Pd):
    """The two workers of every design; a chunked decode worker admits a prompt's KV in
    chunks of its token budget (see the module)."""

    def __init__(self, *, chunked: np.ndarray, **pools) -> None:
        super().__init__(**pools)
        self.chunked = chunked  # (n,) the decode worker's scheduler chunks prompts

    def request_tpot(self, pd: _Point) -> np.ndarray:
        d = self.dec
        room = np.maximum(d.budget - pd.batch, 1.0)[:, None]
        admit = np.where(self.chunked[:, None], np.ceil(d.prompt[None, :] / room), 0.0)
        return pd.t_e[:, None] * (1.0 + admit / np.maximum(d.steps[None, :], 1.0))


def _slowed(u: _Setup, factor: np.ndarray) -> _Setup:
    """The setup of a worker whose every iteration takes ``factor`` (n,) times as long."""
    f = np.asarray(factor, dtype=np.float64)[:, None]
    return replace(u, **{name: getattr(u, name) * (f if getattr(u, name).ndim == 2
                                                    else f[:, 0]) ** k
                         for name, k in _TIME_POWERS.items()})


__all__ = ["effective_shares", "estimate_semi_pd"]
