"""Analytical estimate of prefill/decode disaggregated serving for many designs at once.

The fast fidelity of a disaggregated deployment (DistServe-style): ``x`` prefill-only and
``y`` decode-only instances of TP ``tp`` (the two pools' hardware may differ), the KV of
each prompt moving from its prefill instance to its decode instance over the prefill
chips' P2P links, as ``ador cluster`` (``ador.serve.policies.run_disaggregated``)
simulates it. It reuses the iteration-time pieces and the queueing pieces of the
colocated estimate (:mod:`ador.serve.estimate`); the simulator confirms chosen designs.

Model (all designs solved together; rates are the whole deployment's):

- Poisson arrivals at rate L, split evenly (round robin): each prefill instance sees
  every x-th arrival (rate L / x, Erlang-x inter-arrival times, squared coefficient of
  variation ca^2 = 1 / x), each decode instance L / y.
- A prefill instance serves whole prompts FIFO (its scheduler runs them with one output
  token): service S = part(I) + tail(1) + prefill attention(I), a M/G/1 queue; the wait
  is the colocated estimate's prefill wait (probability rho = (L / x) E[S] of waiting,
  Gamma-distributed given a wait, with the Pollaczek-Khinchine / Takacs moments and
  vLLM's batching stretch), its probability scaled for the smoother round-robin
  arrivals by the GI/G/1 factor of Kraemer and Langenbach-Belz (Allen-Cunneen's
  (ca^2 + cs^2) / (1 + cs^2) times exp(-2 (1 - rho) (1 - ca^2)^2 / (3 rho (ca^2 + cs^2))),
  cs^2 the squared coefficient of variation of S); x = 1 is the M/G/1 wait.
  TTFT = wait + S: the simulator emits the first token on the prefill instance when the
  prefill ends.
- The KV of a prompt of I tokens (``kv_bytes_per_token`` x I, all TP shards) then flows
  over the prefill instance's link (tp x P2P links x per-link bandwidth of the prefill
  chip, plus the link latency, ``ador.serve.cluster.node_link``): T = I kv / bandwidth +
  latency. Flows queue on the links in the simulator; at the loads a prefill pool
  sustains the link is idle nearly always (a transfer is microseconds to milliseconds
  against a prefill of tens of milliseconds), so the estimate leaves link queueing out.
- A decode instance runs decode-only continuous batching (the prompt costs it no compute;
  no prefill stalls): Little's law B = (L / y) E[O - 1] t_e(B) with the colocated
  estimate's decode iteration t_e, B capped by ``max_num_seqs`` (TensorRT-LLM: its
  batch size), by the KV cache (B x (mean context + block / 2) tokens) and, for chunked
  schedulers, by the token budget. TPOT of a request = t_e(B) + T / (O - 1): the transfer
  lies between its first token (on the prefill instance) and its second.
- Sustainable when the prefill pool is not saturated ((L / x) E[S] < 1) and the decode
  operating point exists; ``max_throughput_per_s`` is the highest such L. A request is
  rejected when its prompt + one token does not fit a prefill instance or prompt + output
  does not fit a decode instance (model context, KV cache, vLLM's token cap).
- SLO attainment = the sample mean of P(TTFT <= slo) x [TPOT <= slo] (the decode TPOT is
  taken deterministic: no stalls); P99s are the 0.99 quantiles of those per-request
  distributions; goodput is the highest L whose attainment reaches the target
  (bisection over L, all designs together).

Left out, beside what the colocated estimate leaves out: queueing on the KV links, the
decode instance's admission wait when its KV cache is momentarily full (the KV cap bounds
the rate instead), the prefill instances' back-pressure (a prefill holds a prompt's KV
until a decode instance admits it), and the fluctuation of the decode batch around its
mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ador.errors import InfeasibleError
from ador.model.design import DesignArrays
from ador.serve.estimate import (
    P99,
    RATE_STEPS,
    ServingEstimate,
    _check_inputs,
    _configs,
    _gamma_cdf,
    _lengths,
    _Point,
    _point,
    _quantile,
    _Setup,
    _setup,
    _ttft_tail,
)
from ador.serve.steptime import memory_terms
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SchedulerConfig


def estimate_disaggregated(
        *, prefill: DesignArrays, decode: DesignArrays, model: ModelSpec, tp: np.ndarray,
        precision: str = "fp16", prompt_tokens: np.ndarray, output_tokens: np.ndarray,
        scheduler: Sequence[SchedulerConfig] | SchedulerConfig,
        prefill_instances: np.ndarray, decode_instances: np.ndarray,
        link_bytes_per_s: np.ndarray, link_latency_s: np.ndarray,
        rate_per_s: float | np.ndarray, ttft_slo_s: float, tpot_slo_s: float,
        attainment: float = 0.9) -> ServingEstimate:
    """Estimated serving figures of each design's disaggregated deployment (row r:
    ``prefill_instances[r]`` instances of ``prefill`` row r and ``decode_instances[r]`` of
    ``decode`` row r, TP ``tp[r]`` each, KV link ``link_bytes_per_s[r]``) under Poisson
    arrivals at ``rate_per_s`` requests/s to the whole deployment. Rates in the result
    (goodput, max throughput) are the deployment's; batch and busy figures a decode
    instance's and a prefill instance's."""
    n = prefill.n
    tp, rate, pre, dec, capacity = worker_setups(
        prefill=prefill, decode=decode, model=model, tp=tp, precision=precision,
        prompt_tokens=prompt_tokens, output_tokens=output_tokens, scheduler=scheduler,
        rate_per_s=rate_per_s, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
        attainment=attainment)
    x = np.broadcast_to(np.asarray(prefill_instances, dtype=np.float64), (n,))
    y = np.broadcast_to(np.asarray(decode_instances, dtype=np.float64), (n,))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pd = _Pd(pre=_whole_prompts(pre), dec=_decode_only(dec), x=x, y=y,
                 transfer=_transfer(model=model, tp=tp, precision=precision,
                                    prompt=dec.prompt, bandwidth=link_bytes_per_s,
                                    latency=link_latency_s))
        return pd.estimate(rate=rate, capacity=capacity, ttft=ttft_slo_s, tpot=tpot_slo_s,
                           target=attainment)


def worker_setups(*, prefill: DesignArrays, decode: DesignArrays, model: ModelSpec,
                  tp: np.ndarray, precision: str, prompt_tokens: np.ndarray,
                  output_tokens: np.ndarray,
                  scheduler: Sequence[SchedulerConfig] | SchedulerConfig,
                  rate_per_s: float | np.ndarray, ttft_slo_s: float, tpot_slo_s: float,
                  attainment: float) -> tuple[np.ndarray, np.ndarray, _Setup, _Setup,
                                              np.ndarray]:
    """The checked inputs and the setups of the prefill side (the prompts, one output
    token each) and the decode side (the requests as given) of a split deployment:
    (tp, rate per design, prefill setup, decode setup, decode KV capacity)."""
    n = prefill.n
    tp = _check_inputs(n=n, tp=tp, rate=rate_per_s, ttft=ttft_slo_s, tpot=tpot_slo_s,
                       attainment=attainment)
    rate = np.broadcast_to(np.asarray(rate_per_s, dtype=np.float64), (n,)).copy()
    configs = _configs(scheduler, n)
    prompt, output = _lengths(prompt_tokens, output_tokens)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pre, _, _ = _setup(designs=prefill, model=model, tp=tp, pp=1, precision=precision,
                           prompt=prompt, output=np.ones_like(output), configs=configs)
        dec, capacity, _ = _setup(designs=decode, model=model, tp=tp, pp=1,
                                  precision=precision, prompt=prompt, output=output,
                                  configs=configs)
    return tp, rate, pre, dec, capacity


def _whole_prompts(u: _Setup) -> _Setup:
    """A prefill-only instance: whole prompts, no decodes running beside them."""
    return replace(u, chunked=np.zeros_like(u.chunked))


def _decode_only(u: _Setup) -> _Setup:
    """A decode-only instance: no prefill work (the prompt's KV arrives over the link)."""
    zero = np.zeros_like(u.m_s)
    none = dict.fromkeys(("m_i", "m_i2", "m_a", "m_a2", "m_ia", "m_s", "m_s2", "m_s3",
                          "m_i3", "m_i2a", "m_ia2", "m_a3"), zero)
    return replace(u, chunked=np.zeros_like(u.chunked), attn=np.zeros_like(u.attn),
                   whole=np.zeros_like(u.whole), **none)


def _transfer(*, model: ModelSpec, tp: np.ndarray, precision: str, prompt: np.ndarray,
              bandwidth: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """Seconds each (sampled) prompt's KV takes over its link, (n, m)."""
    kv = np.zeros(tp.shape[0])
    for t in np.unique(tp):
        scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2,
                                tp=int(t), pp=1)
        try:
            kv[tp == t] = memory_terms(model=model, scenario=scen,
                                       activation_tokens=2048)["kv_bytes_per_token_all"]
        except InfeasibleError:
            kv[tp == t] = np.inf
    bw = np.broadcast_to(np.asarray(bandwidth, dtype=np.float64), tp.shape)
    lat = np.broadcast_to(np.asarray(latency, dtype=np.float64), tp.shape)
    return prompt[None, :] * (kv / bw)[:, None] + lat[:, None]


class _Pd:
    """The two pools of every design, solved at any deployment rate."""

    def __init__(self, *, pre: _Setup, dec: _Setup, x: np.ndarray, y: np.ndarray,
                 transfer: np.ndarray) -> None:
        self.pre, self.dec, self.x, self.y, self.transfer = pre, dec, x, y, transfer
        self.accepted = pre.accepted * dec.accepted
        self.decoding = self.accepted * (dec.steps[None, :] > 0)
        # TPOT = t_e + transfer / (O - 1) for requests with decode steps
        self.per_step = np.where(dec.steps[None, :] > 0,
                                 transfer / np.maximum(dec.steps[None, :], 1.0), 0.0)

    def request_tpot(self, pd: _Point) -> np.ndarray:
        """TPOT of each (sampled) request at the decode operating point ``pd``, (n, m):
        the decode iteration plus the request's transfer spread over its decode steps."""
        return pd.t_e[:, None] + self.per_step

    def _prefill_point(self, lam: np.ndarray) -> tuple[np.ndarray, _Point]:
        """Per-instance rate and the M/G/1 point of a prefill instance."""
        lp = lam / self.x
        u = self.pre
        zero = np.zeros_like(lp)
        rho = lp * u.m_s
        p = _Point(ok=(rho < 1.0) & u.feasible, batch=zero, t_e=zero, t_f=zero, tpot=zero,
                   rho=rho, m_s=u.m_s, m_s2=u.m_s2, m_j2=zero)
        return lp, p

    def _wait(self, lp: np.ndarray, pp: _Point):
        """The prefill wait of the colocated estimate (M/G/1), its probability scaled by
        the GI/G/1 factor of Kraemer and Langenbach-Belz (1976) for round-robin arrivals:
        each instance gets every x-th arrival, inter-arrival times Erlang-x, ca^2 = 1 / x;
        factor (ca^2 + cs^2) / (1 + cs^2) (Allen-Cunneen) x
        exp(-2 (1 - rho) (1 - ca^2)^2 / (3 rho (ca^2 + cs^2))) (for ca^2 < 1)."""
        base, rho, shape, scale = _ttft_tail(self.pre, lp, pp)
        cs2 = np.maximum(self.pre.m_s2 / np.maximum(self.pre.m_s, 1e-300) ** 2 - 1.0, 0.0)
        ca2 = 1.0 / self.x
        load = np.clip(pp.rho, 1e-12, 1.0)
        klb = np.exp(-2.0 * (1.0 - load) * (1.0 - ca2) ** 2 / (3.0 * load * (ca2 + cs2)))
        factor = (ca2 + cs2) / (1.0 + cs2) * klb
        return base, rho * factor[:, None], shape, scale

    def _points(self, lam: np.ndarray) -> tuple[np.ndarray, _Point, _Point]:
        lp, pp = self._prefill_point(lam)
        pd = _point(self.dec, lam / self.y)
        ok = pp.ok & pd.ok & self.dec.feasible
        return lp, pp, replace(pd, ok=ok)

    def attainment(self, lam: np.ndarray, *, ttft: float, tpot: float) -> np.ndarray:
        lp, pp, pd = self._points(lam)
        base, rho, shape, scale = self._wait(lp, pp)
        late = np.where(ttft >= base, rho * (1.0 - _gamma_cdf(shape, scale, ttft - base)), 1.0)
        fast = (self.request_tpot(pd) <= tpot) | (self.dec.steps[None, :] <= 0)
        att = np.mean(self.accepted * (1.0 - late) * fast, axis=1)
        return np.where(pd.ok, att, 0.0)

    def max_rate(self) -> np.ndarray:
        top = self.x / np.maximum(self.pre.m_s, 1e-30)
        n_steps = np.maximum(self.dec.mean_steps, 1e-30)
        t_min = self.dec.step[:, 0]
        top = np.minimum(top, self.y * self.dec.bmax / (n_steps * t_min)) * 1.001
        top = np.where(np.isfinite(top), top, 0.0)
        lo, hi = np.zeros_like(top), top
        for _ in range(RATE_STEPS):
            mid = 0.5 * (lo + hi)
            good = self._points(mid)[2].ok
            lo = np.where(good, mid, lo)
            hi = np.where(good, hi, mid)
        return lo

    def goodput(self, lam_max: np.ndarray, *, ttft: float, tpot: float, target: float
                ) -> np.ndarray:
        lo, hi = np.zeros_like(lam_max), lam_max.copy()
        for _ in range(RATE_STEPS):
            mid = 0.5 * (lo + hi)
            good = self.attainment(mid, ttft=ttft, tpot=tpot) >= target
            lo = np.where(good, mid, lo)
            hi = np.where(good, hi, mid)
        return lo

    def p99s(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P99 TTFT, P99 TPOT and mean TTFT over the accepted requests at ``lam``."""
        lp, pp, pd = self._points(lam)
        acc = self.accepted
        count = np.maximum(acc.sum(axis=1), 1.0)
        base, rho, shape, scale = self._wait(lp, pp)

        def ttft_over(t):
            tail = np.where(t[:, None] >= base, rho * (1.0 - _gamma_cdf(
                shape, scale, t[:, None] - base)), 1.0)
            return (acc * tail).sum(axis=1) / count

        hi = np.max(np.where(acc > 0, base, 0.0), axis=1) + (
            (shape * scale + 12.0 * np.sqrt(shape) * scale)[:, 0])
        ttft99 = _quantile(ttft_over, np.zeros_like(hi), hi)
        ttft_mean = (np.sum(acc * base, axis=1) / count + (rho * shape * scale)[:, 0])
        tpot = np.where(self.decoding > 0, self.request_tpot(pd), np.nan)
        tpot99 = _nan_quantile(tpot, P99)
        inf = np.full(lam.shape, np.inf)
        return (np.where(pd.ok, ttft99, inf), np.where(pd.ok, tpot99, inf),
                np.where(pd.ok, ttft_mean, inf))

    def estimate(self, *, rate: np.ndarray, capacity: np.ndarray, ttft: float, tpot: float,
                 target: float) -> ServingEstimate:
        lam_max = self.max_rate()
        good = self.goodput(lam_max, ttft=ttft, tpot=tpot, target=target)
        ttft99, tpot99, ttft_mean = self.p99s(rate)
        _, pp, pd = self._points(rate)
        mean_tpot = np.sum(self.decoding * (self.request_tpot(pd)), axis=1) / (
            np.maximum(self.decoding.sum(axis=1), 1.0))
        return ServingEstimate(
            goodput_per_s=good, ttft_p99_s=ttft99, tpot_p99_s=tpot99,
            max_throughput_per_s=lam_max, kv_capacity_tokens=capacity,
            attainment=self.attainment(rate, ttft=ttft, tpot=tpot),
            mean_batch=np.where(pd.ok, pd.batch, np.nan),
            tpot_mean_s=np.where(pd.ok, mean_tpot, np.inf), ttft_mean_s=ttft_mean,
            prefill_busy_fraction=np.where(pd.ok, pp.rho, np.nan), max_running=self.dec.bmax,
            rejected_fraction=1.0 - np.mean(self.accepted, axis=1),
            feasible=self.pre.feasible & self.dec.feasible)


def _nan_quantile(values: np.ndarray, q: float) -> np.ndarray:
    """Row-wise ``q`` quantile ignoring NaN (the smallest value with at least q of the row
    at or below it); NaN rows give 0."""
    v = np.sort(np.where(np.isnan(values), np.inf, values), axis=1)
    count = np.sum(~np.isnan(values), axis=1)
    k = np.clip(np.ceil(q * count).astype(int) - 1, 0, values.shape[1] - 1)
    out = np.take_along_axis(v, k[:, None], axis=1)[:, 0]
    return np.where(count > 0, out, 0.0)


__all__ = ["estimate_disaggregated"]
