"""Goodput (DistServe) and capacity (Sarathi-Serve) by bisection over the request rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError
from ador.metrics import ITL, QUEUEING, REQUEST_THROUGHPUT, SLO_ATTAINMENT, summary_key
from ador.serve.api import default_step_model, simulate
from ador.serve.metrics import per_request
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult

MAX_QUEUE_MEDIAN_S = 2.0  # Sarathi-Serve capacity: median scheduling delay under 2 s
BRACKET_REQUESTS = 2000  # max-load run on the first requests bounds the rate from above


@dataclass(frozen=True)
class GoodputResult:
    """Highest rate (requests/s, whole instance) meeting the criterion; 0 when even the
    lowest tried rate fails. ``per_chip`` divides by the instance's chips."""

    rate_per_s: float
    per_chip: float
    simulations: int
    rates_tried: tuple
    at_rate: ServingResult | None

    def to_json_dict(self) -> dict:
        return {"rate_per_s": self.rate_per_s, "rate_per_s_per_chip": self.per_chip,
                "simulations": self.simulations,
                "rates_tried": [float(x) for x in self.rates_tried]}


def _bisect(*, ok, requests: RequestSet, sim_kwargs: dict, rel_tol: float, max_sims: int
            ) -> GoodputResult:
    if requests.concurrency is not None:
        raise AdorError("goodput needs an open-loop request set (rates), not a closed loop",
                        field="concurrency", value=requests.concurrency)
    if "step_model" not in sim_kwargs or sim_kwargs["step_model"] is None:
        sim_kwargs["step_model"] = default_step_model(
            hardware=sim_kwargs["hardware"], model=sim_kwargs["model"],
            tp=sim_kwargs.get("tp", 1), pp=sim_kwargs.get("pp", 1),
            precision=sim_kwargs.get("precision", "fp16"))
    tried: list = []
    results: dict = {}

    def check(rate: float) -> bool:
        res = simulate(requests=requests.with_rate(rate), **sim_kwargs)
        tried.append(rate)
        results[rate] = res
        return ok(res)

    # upper bound from the max-load throughput: no rate above it can be sustained
    sub = requests.take(slice(0, min(requests.n, BRACKET_REQUESTS)))
    maxload = simulate(requests=RequestSet(arrival_s=np.zeros(sub.n),
                                           prompt_tokens=sub.prompt_tokens,
                                           output_tokens=sub.output_tokens),
                       **{k: v for k, v in sim_kwargs.items() if k != "stop_below_attainment"})
    hi = 1.2 * maxload.summary.get(REQUEST_THROUGHPUT.column, 1.0)
    lo = 0.0
    sims = 1
    if check(hi):
        lo = hi
    else:
        sims += 1
        while sims < max_sims and (hi - lo) > rel_tol * hi:
            mid = 0.5 * (lo + hi) if lo > 0 else hi / 2.0
            sims += 1
            if check(mid):
                lo = mid
            else:
                hi = mid
                if lo == 0 and hi < 1e-6:
                    break
    chips = sim_kwargs.get("tp", 1) * sim_kwargs.get("pp", 1) * sim_kwargs.get("instances", 1)
    return GoodputResult(rate_per_s=lo, per_chip=lo / chips, simulations=sims,
                         rates_tried=tuple(tried), at_rate=results.get(lo))


def find_goodput(*, requests: RequestSet, ttft_slo_s: float, tpot_slo_s: float,
                 attainment: float = 0.9, rel_tol: float = 0.02, max_sims: int = 12,
                 **sim_kwargs) -> GoodputResult:
    """DistServe goodput: highest rate at which at least ``attainment`` of the requests
    meet both the TTFT and the TPOT SLO (same keywords as ``simulate``)."""
    if ttft_slo_s <= 0 or tpot_slo_s <= 0:
        raise AdorError("SLOs must be > 0 s", field="slo", value=(ttft_slo_s, tpot_slo_s))
    sim_kwargs.update(ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
                      stop_below_attainment=attainment)

    def ok(res: ServingResult) -> bool:
        return (res.summary.get(SLO_ATTAINMENT.column, 0.0) >= attainment
                and "stopped_early" not in res.summary)

    return _bisect(ok=ok, requests=requests, sim_kwargs=sim_kwargs, rel_tol=rel_tol,
                   max_sims=max_sims)


def find_capacity(*, requests: RequestSet, tbt_p99_slo_s: float,
                  max_queue_median_s: float = MAX_QUEUE_MEDIAN_S, rel_tol: float = 0.02,
                  max_sims: int = 12, **sim_kwargs) -> GoodputResult:
    """Sarathi-Serve capacity: highest rate whose P99 time between tokens is within
    ``tbt_p99_slo_s`` with the median scheduling (queueing) delay under 2 s."""
    if tbt_p99_slo_s <= 0:
        raise AdorError("the TBT SLO must be > 0 s", field="slo", value=tbt_p99_slo_s)

    def ok(res: ServingResult) -> bool:
        s = res.summary
        if res.rejected.count:
            return False
        q = per_request(res.requests)[QUEUEING.column]
        return (s.get(summary_key(ITL, "p99"), 0.0) <= tbt_p99_slo_s
                and float(np.nanmedian(q)) < max_queue_median_s)

    return _bisect(ok=ok, requests=requests, sim_kwargs=sim_kwargs, rel_tol=rel_tol,
                   max_sims=max_sims)


def goodput_of(run, *, requests: RequestSet, ttft_slo_s: float, tpot_slo_s: float,
               attainment: float = 0.9, rel_tol: float = 0.03, max_sims: int = 14,
               hi_per_s: float | None = None) -> GoodputResult:
    """DistServe goodput of any simulator: ``run(requests)`` returns a ``ServingResult``
    carrying both SLOs' attainment (a cluster, a policy). The upper bracket is 1.2x the
    max-load request throughput (or ``hi_per_s``), doubled while it passes (up to 4
    times); ``per_chip`` divides by the result's chips."""
    if requests.concurrency is not None:
        raise AdorError("goodput needs an open-loop request set (rates), not a closed loop",
                        field="concurrency", value=requests.concurrency)
    results: dict = {}

    def ok(rate: float) -> bool:
        res = run(requests.with_rate(rate))
        results[rate] = res
        return res.summary.get(SLO_ATTAINMENT.column, 0.0) >= attainment

    if hi_per_s is None:
        sub = requests.take(slice(0, min(requests.n, BRACKET_REQUESTS)))
        top = run(RequestSet(arrival_s=np.arange(sub.n) * 1e-6,
                             prompt_tokens=sub.prompt_tokens, output_tokens=sub.output_tokens))
        hi_per_s = 1.2 * top.summary.get(REQUEST_THROUGHPUT.column, 1.0)
    hi, lo, sims = hi_per_s, 0.0, 0
    for _ in range(4):  # a bracket that passes is no bracket: widen it
        if not ok(hi):
            break
        lo, hi = hi, 2.0 * hi
    else:  # still passing after the last doubling: the highest rate tried and passed
        hi = lo
    while sims < max_sims and lo < hi and (hi - lo) > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        sims += 1
        if ok(mid):
            lo = mid
        else:
            hi = mid
    chips = next(iter(results.values())).chips if results else 1
    return GoodputResult(rate_per_s=lo, per_chip=lo / chips, simulations=len(results),
                         rates_tried=tuple(results), at_rate=results.get(lo))
