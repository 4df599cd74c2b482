"""Analytical estimate of continuous-batching serving for many designs in one numpy pass.

The fast fidelity of a serving search: goodput, P99 TTFT and P99 TPOT of one serving
instance per design, from the same cost pieces as the step model (``estimate_costs``),
without simulating requests. The discrete-event simulator (``ador.serve.api.simulate``,
``ador.serve.goodput.find_goodput``) stays the reference and confirms the chosen designs.

Model (a fluid / queueing model of continuous batching; all designs solved together):

- Arrivals are Poisson at ``rate`` requests/s per instance; requests' prompt lengths I and
  output lengths O are the given sample (rejected ones, as the simulator rejects them:
  longer than the model context, than vLLM's token cap, or than the KV cache, do no work
  and count as SLO misses).
- Decodes: B requests decode together; one decode-only iteration takes
  t_e(B) = token-proportional part(B) + sampling tail(B) + fused decode attention of B
  requests at the mean context c = E[(O-1)(I + O/2)] / E[O-1] (the context averaged over
  decode steps).
- Prefill of a prompt of I tokens costs the decodes a stall J and occupies the prefill
  path for S: vLLM (prefill priority, whole prompts, decodes pause) S = J = part(I) +
  tail(1) + prefill attention(I); chunked schedulers (Sarathi-Serve: ``chunk_tokens``;
  TensorRT-LLM: ``max_num_tokens``, budget C with decodes included) spread the prompt over
  k = I / (C - B) full iterations of t_f(B) = part(C) + tail(B) + decode attention(B), so
  S = k t_f + prefill attention(I) and J = S - k t_e (decodes still advance).
- Mean TPOT = t_e(B) / (1 - rate E[J]) and Little's law B = rate E[O-1] TPOT: the smallest
  B solving both (searched on a grid, refined by bisection) is the operating point. The
  rate is sustainable when it exists with B within max_num_seqs (TensorRT-LLM: its max
  batch size), within the KV cache (B x (c + block/2) tokens; TensorRT-LLM reserves
  prompt + output) and within C for chunked schedulers, and when the prefill path is
  not saturated (rate E[S] < 1). ``max_throughput_per_s`` is the highest such rate.
- TTFT of a request = own prefill S (chunked: plus half a full iteration, as the first
  token comes at the end of the iteration holding the last chunk) + half a decode
  iteration (the one in progress on arrival) + the FIFO M/G/1 wait of the prefill path
  (vLLM: stretched by 1 + rho (1 - rho), as prompts arriving during the residual of the
  iteration in progress join the same prefill iteration): P(wait > 0) = rho = rate E[S], and
  given that it waits, a Gamma distribution with the exact first two moments of the wait
  (Pollaczek-Khinchine mean rate E[S^2] / (2 (1 - rho)) and Takacs' second moment, which
  brings in E[S^3]: the long prompts).
- TPOT of a request of O outputs: t_e + X / (O - 1), X the stalls of the prefills arriving
  during its decode time and its own TTFT (those queue behind it). Its decode time is an
  M/G/1 busy period started by its own decode work (O - 1) t_e and the work queued
  behind it (delay-cycle analysis): mean and variance from the busy-period formulas,
  X taken Gamma-distributed.
- SLO attainment = the sample mean of P(TTFT <= slo) x P(TPOT <= slo) (independent);
  P99s are the 0.99 quantiles of those per-request mixtures; goodput is the highest rate
  whose attainment reaches the target (bisection over the rate, all designs together).

Numerics: prefill moments from up to ``MAX_MOMENTS`` requests of the sample, latency
distributions over ``MAX_SAMPLE`` of them (evenly strided); iteration-time pieces
interpolated on a shared token grid (within about 1.5 % of the step model).

Left out: arrivals burstier than Poisson (a trace's own arrival times: the estimate is then
optimistic, see scripts/check_serving_estimate.py and the README for measured errors), the
fluctuation of the batch size and of the decode context around their means, vLLM's
batching of waiting prompts into one prefill iteration beyond the stretch above,
preemption and swapping (the KV cache bounds the rate instead), the prior-context reads of
chunked prefill attention beyond one fused kernel per chunk, and the finite length of a
simulated run (a rate just above the sustainable one can still pass a short simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError, InfeasibleError
from ador.model.design import DesignArrays
from ador.serve.estimate_costs import (
    CostTables,
    at_rows,
    at_shared,
    cost_tables,
    locate,
    no_tables,
    token_grid,
)
from ador.serve.schedulers.trtllm import derive_limits
from ador.serve.steptime import kv_capacity, memory_terms
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SchedulerConfig

MAX_SAMPLE = 128  # requests whose latency distributions are evaluated (evenly strided)
MAX_MOMENTS = 4096  # requests whose prefill moments are taken (evenly strided)
B_GRID = np.geomspace(1e-6, 1.0, 20)  # operating-point search, as fractions of the batch cap
REFINE_STEPS = 12
RATE_STEPS = 16  # bisection steps over the rate (2^-16 of the max throughput)
QUANTILE_STEPS = 22
P99 = 0.99


@dataclass(frozen=True)
class _Policy:
    """What the estimate needs to know of a batching policy."""

    stalls_decodes: bool  # prefill iterations pause the decodes (vLLM) or share them
    reserves_output: bool  # KV for prompt + output reserved at admission
    watermark: bool  # a share of the KV blocks kept free at admission
    caps_request_tokens: bool  # prompt + output beyond the iteration token cap is rejected


POLICIES = {
    "vllm": _Policy(stalls_decodes=True, reserves_output=False, watermark=True,
                    caps_request_tokens=True),
    "sarathi": _Policy(stalls_decodes=False, reserves_output=False, watermark=True,
                       caps_request_tokens=False),
    "trtllm": _Policy(stalls_decodes=False, reserves_output=True, watermark=False,
                      caps_request_tokens=False),
}


@dataclass(frozen=True)
class ServingEstimate:
    """Per design (arrays of shape (n,)); rates in requests/s per instance."""

    goodput_per_s: np.ndarray  # highest rate with >= attainment of requests meeting both SLOs
    ttft_p99_s: np.ndarray  # at rate_per_s (inf when not sustainable)
    tpot_p99_s: np.ndarray  # at rate_per_s (inf when not sustainable)
    max_throughput_per_s: np.ndarray  # highest sustainable rate
    kv_capacity_tokens: np.ndarray
    attainment: np.ndarray  # estimated share meeting both SLOs at rate_per_s
    mean_batch: np.ndarray  # decoding requests at rate_per_s (nan when not sustainable)
    tpot_mean_s: np.ndarray  # at rate_per_s (inf when not sustainable)
    ttft_mean_s: np.ndarray  # at rate_per_s (inf when not sustainable)
    prefill_busy_fraction: np.ndarray  # rate x mean prefill time at rate_per_s
    max_running: np.ndarray  # decoding requests the instance can hold (seqs, KV, budget)
    rejected_fraction: np.ndarray  # sample share the scheduler rejects outright
    feasible: np.ndarray  # bool: the model can be laid out at the design's TP x PP


@dataclass(frozen=True)
class _Setup:
    """Everything that does not depend on the rate: per-design arrays (n,), per-request
    arrays (n, m) or (m,), sample moments."""

    grid: np.ndarray
    step: np.ndarray  # (n, grid) decode-only iteration of grid requests
    fill: np.ndarray  # (n, grid) part(C) - part(grid): a full chunked iteration's extra
    chunked: np.ndarray  # bool (n,)
    feasible: np.ndarray  # bool (n,)
    budget: np.ndarray  # tokens per iteration (C)
    bmax: np.ndarray  # most decoding requests
    accepted: np.ndarray  # (n, m) 0/1
    prompt: np.ndarray  # (m,)
    steps: np.ndarray  # (m,) decode steps O - 1
    attn: np.ndarray  # (n, m) prefill attention of each prompt
    whole: np.ndarray  # (n, m) vLLM prefill iteration of each prompt
    mean_steps: np.ndarray  # (n,) E[O - 1] over arrivals (rejected: 0)
    m_i: np.ndarray  # (n,) E[I], E[I^2], E[A], E[A^2], E[I A], E[S], E[S^2] over arrivals
    m_i2: np.ndarray
    m_a: np.ndarray
    m_a2: np.ndarray
    m_ia: np.ndarray
    m_s: np.ndarray
    m_s2: np.ndarray
    m_s3: np.ndarray  # third moments for the wait's spread: E[S^3] (vLLM), and E[I^3],
    m_i3: np.ndarray  # E[I^2 A], E[I A^2], E[A^3] (chunked)
    m_i2a: np.ndarray
    m_ia2: np.ndarray
    m_a3: np.ndarray


@dataclass(frozen=True)
class _Point:
    """Operating point at a rate (per design)."""

    ok: np.ndarray
    batch: np.ndarray
    t_e: np.ndarray
    t_f: np.ndarray
    tpot: np.ndarray
    rho: np.ndarray
    m_s: np.ndarray
    m_s2: np.ndarray
    m_j2: np.ndarray


def estimate_serving(*, designs: DesignArrays, model: ModelSpec, tp: np.ndarray, pp: int = 1,
                     precision: str = "fp16", prompt_tokens: np.ndarray,
                     output_tokens: np.ndarray,
                     scheduler: Sequence[SchedulerConfig] | SchedulerConfig,
                     rate_per_s: float | np.ndarray, ttft_slo_s: float, tpot_slo_s: float,
                     attainment: float = 0.9) -> ServingEstimate:
    """Estimated serving figures of one TP x PP instance of each design (``tp`` per design)
    under Poisson arrivals at ``rate_per_s`` requests/s (one rate, or one per design) with
    the given request lengths."""
    tp = _check_inputs(n=designs.n, tp=tp, rate=rate_per_s, ttft=ttft_slo_s, tpot=tpot_slo_s,
                       attainment=attainment)
    rate = np.broadcast_to(np.asarray(rate_per_s, dtype=np.float64), (designs.n,)).copy()
    configs = _configs(scheduler, designs.n)
    prompt, output = _lengths(prompt_tokens, output_tokens)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u, capacity, rejected = _setup(designs=designs, model=model, tp=tp, pp=pp,
                                       precision=precision, prompt=prompt, output=output,
                                       configs=configs)
        return _estimate(u, capacity, rejected, rate=rate, ttft=ttft_slo_s,
                         tpot=tpot_slo_s, target=attainment)


def _estimate(u: _Setup, capacity: np.ndarray, rejected: np.ndarray, *, rate: np.ndarray,
              ttft: float, tpot: float, target: float) -> ServingEstimate:
    n = u.bmax.shape[0]
    lam_max = _max_rate(u)
    goodput = _goodput(u, lam_max, ttft=ttft, tpot=tpot, target=target)
    lam = rate
    p = _point(u, lam)
    att = np.where(p.ok, _attainment(u, lam, p, ttft=ttft, tpot=tpot), 0.0)
    ttft99, tpot99 = _p99s(u, lam, p)
    base, rho, w_shape, w_scale = _ttft_tail(u, lam, p)
    ttft_mean = (np.sum(u.accepted * base, axis=1) / np.maximum(u.accepted.sum(axis=1), 1.0)
                 + (rho * w_shape * w_scale)[:, 0])
    inf = np.full(n, np.inf)
    return ServingEstimate(
        goodput_per_s=goodput, ttft_p99_s=np.where(p.ok, ttft99, inf),
        tpot_p99_s=np.where(p.ok, tpot99, inf), max_throughput_per_s=lam_max,
        kv_capacity_tokens=capacity, attainment=att,
        mean_batch=np.where(p.ok, p.batch, np.nan), tpot_mean_s=np.where(p.ok, p.tpot, inf),
        ttft_mean_s=np.where(p.ok, ttft_mean, inf),
        prefill_busy_fraction=np.where(p.ok, p.rho, np.nan), max_running=u.bmax,
        rejected_fraction=rejected, feasible=u.feasible)


# ------------------------------------------------------------------------- inputs ----
def _check_inputs(*, n: int, tp, rate: float | np.ndarray, ttft: float, tpot: float,
                  attainment: float) -> np.ndarray:
    tp = np.broadcast_to(np.asarray(tp), (n,))
    t = np.asarray(tp, dtype=np.float64)
    bad = (t < 1) | (t != np.round(t)) | (np.log2(np.maximum(t, 1)) % 1 != 0)
    if np.any(bad):
        raise AdorError("tp must be a power of two >= 1 (rule of Scenario.tp)", field="tp",
                        value=float(t[np.argmax(bad)]))
    for name, v in (("rate_per_s", rate), ("ttft_slo_s", ttft), ("tpot_slo_s", tpot)):
        bad = ~np.isfinite(np.asarray(v, dtype=np.float64)) | (np.asarray(v) <= 0)
        if np.any(bad):
            raise AdorError("must be a finite number > 0", field=name,
                            value=float(np.ravel(v)[np.argmax(np.ravel(bad))]))
    if not 0 < attainment < 1:
        raise AdorError("must be between 0 and 1 (exclusive)", field="attainment",
                        value=attainment)
    return tp.astype(np.int64)


def _configs(scheduler, n: int) -> list[SchedulerConfig]:
    configs = [scheduler] * n if isinstance(scheduler, SchedulerConfig) else list(scheduler)
    if len(configs) != n:
        raise AdorError(f"give one scheduler or one per design ({n})", field="scheduler",
                        value=len(configs))
    for c in configs:
        if c.name not in POLICIES:
            raise AdorError(f"the serving estimate covers the schedulers "
                            f"{', '.join(POLICIES)}", field="scheduler.name", value=c.name)
    return configs


def _lengths(prompt, output) -> tuple[np.ndarray, np.ndarray]:
    """The request lengths as float arrays (evenly strided down to ``MAX_MOMENTS``)."""
    prompt = np.asarray(prompt, dtype=np.float64).ravel()
    output = np.asarray(output, dtype=np.float64).ravel()
    if prompt.shape != output.shape or prompt.size == 0:
        raise AdorError("prompt_tokens and output_tokens must be equally long and not empty",
                        field="prompt_tokens", value=(prompt.size, output.size))
    for name, a in (("prompt_tokens", prompt), ("output_tokens", output)):
        if not np.all(np.isfinite(a)) or np.any(a < 1):
            raise AdorError("token counts must be >= 1", field=name, value=float(np.min(a)))
    return _strided(prompt, MAX_MOMENTS), _strided(output, MAX_MOMENTS)


def _strided(a: np.ndarray, most: int) -> np.ndarray:
    if a.size <= most:
        return a
    return a[np.linspace(0, a.size - 1, most).round().astype(np.int64)]


def _limits(c: SchedulerConfig, *, model: ModelSpec, hbm: float, terms: dict, tp: int,
            pp: int, isl: float, osl: float) -> tuple[int, int]:
    """(tokens per iteration, most running requests) as the simulator resolves them."""
    if c.name == "trtllm":
        b, t = derive_limits(memory_bytes_total=hbm * tp * pp,
                             weight_bytes_total=terms["weight_bytes_total"],
                             kv_bytes_per_token=terms["kv_bytes_per_token_all"], isl=isl,
                             osl=osl, pp=pp)
        return c.max_num_tokens or t, c.max_batch_size or b
    if c.name == "sarathi":
        return c.chunk_tokens, c.max_num_seqs
    return c.max_batched_tokens or max(model.max_context, 2048), c.max_num_seqs


def _resolve(*, designs: DesignArrays, model: ModelSpec, tp: np.ndarray, pp: int,
             precision: str, configs: list[SchedulerConfig], prompt: np.ndarray,
             output: np.ndarray) -> tuple[dict, list]:
    """Per-design limits (tokens per iteration, running requests, KV capacity) and the
    TP groups (rows, tp, whether the model can be laid out at that TP x PP; designs where
    it cannot get no capacity and no throughput)."""
    n = designs.n
    out = {"budget": np.zeros(n), "seqs": np.zeros(n), "capacity": np.zeros(n)}
    isl, osl = float(np.mean(prompt)), float(np.mean(output))
    groups = []
    for t in np.unique(tp):
        rows = np.flatnonzero(tp == t)
        scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2,
                                tp=int(t), pp=pp)
        try:
            terms = memory_terms(model=model, scenario=scen, activation_tokens=2048)
        except InfeasibleError:
            out["budget"][rows] = 1.0
            groups.append((rows, int(t), False))
            continue
        for r in rows:
            out["budget"][r], out["seqs"][r] = _limits(
                configs[r], model=model, hbm=float(designs.hbm_bytes[r]), terms=terms,
                tp=int(t), pp=pp, isl=isl, osl=osl)
        out["capacity"][rows] = kv_capacity(
            hbm_bytes_per_chip=designs.hbm_bytes[rows], terms=terms,
            memory_fraction=np.array([configs[r].kv_memory_fraction for r in rows]),
            activation_tokens=out["budget"][rows])
        groups.append((rows, int(t), True))
    return out, groups


def _setup(*, designs: DesignArrays, model: ModelSpec, tp: np.ndarray, pp: int,
           precision: str, prompt: np.ndarray, output: np.ndarray,
           configs: list[SchedulerConfig]) -> tuple[_Setup, np.ndarray, np.ndarray]:
    steps = np.maximum(output - 1.0, 0.0)
    weights = np.maximum(steps, 1e-12)
    ctx = float(np.sum(weights * (prompt + output / 2.0)) / np.sum(weights))
    total = float(np.sum(weights * (prompt + output)) / np.sum(weights))
    lim, groups = _resolve(designs=designs, model=model, tp=tp, pp=pp, precision=precision,
                           configs=configs, prompt=prompt, output=output)
    budget = lim["budget"]
    grid = token_grid(max(float(np.max(prompt)), 2048.0, float(np.max(budget)),
                          float(np.max(lim["seqs"])) + 1))
    tables = CostTables.stack([(rows, cost_tables(d=designs.take(rows), model=model, tp=t,
                                                  pp=pp, precision=precision, grid=grid,
                                                  decode_context=ctx) if ok
                                else no_tables(n=rows.size, grid=grid))
                               for rows, t, ok in groups], designs.n)
    feasible = np.ones(designs.n, dtype=bool)
    for rows, _, ok in groups:
        feasible[rows] = ok
    policy = [POLICIES[c.name] for c in configs]
    block = np.array([c.block_tokens for c in configs], dtype=np.float64)
    wm = np.array([c.watermark_fraction if p.watermark else 0.0
                   for c, p in zip(configs, policy, strict=True)])
    cap_blocks = np.floor_divide(lim["capacity"], block)
    usable = cap_blocks - np.floor(wm * cap_blocks)
    chunked = np.array([not p.stalls_decodes for p in policy])
    reserve = np.array([p.reserves_output for p in policy])
    cap_tok = np.array([p.caps_request_tokens for p in policy])

    def accepted(i: np.ndarray, o: np.ndarray) -> np.ndarray:
        need = np.ceil((i + o)[None, :] / block[:, None])
        return (((i + o)[None, :] <= model.max_context) & (need <= usable[:, None])
                & (~cap_tok[:, None] | ((i + o)[None, :] <= budget[:, None]))).astype(float)

    bmax = np.minimum(lim["seqs"], usable * block / (np.where(reserve, total, ctx) + block / 2))
    bmax = np.maximum(np.where(chunked, np.minimum(bmax, budget - 1.0), bmax), 0.0)
    acc = accepted(prompt, output)
    attn = at_shared(tables.prefill_attn, grid, prompt)
    whole = at_shared(tables.dense, grid, prompt) + tables.tail[:, :1] + attn

    def mean(x) -> np.ndarray:
        return np.mean(acc * x, axis=1)

    few = _strided(np.arange(prompt.size), MAX_SAMPLE)
    u = _Setup(grid=grid, step=tables.dense + tables.tail + tables.decode,
               fill=at_rows(tables.dense, grid, budget)[:, None] - tables.dense,
               chunked=chunked, feasible=feasible, budget=budget, bmax=bmax, accepted=acc[:, few],
               prompt=prompt[few], steps=steps[few], attn=attn[:, few], whole=whole[:, few],
               mean_steps=mean(steps), m_i=mean(prompt), m_i2=mean(prompt**2), m_a=mean(attn),
               m_a2=mean(attn**2), m_ia=mean(prompt * attn), m_s=mean(whole),
               m_s2=mean(whole**2), m_s3=mean(whole**3), m_i3=mean(prompt**3),
               m_i2a=mean(prompt**2 * attn), m_ia2=mean(prompt * attn**2), m_a3=mean(attn**3))
    return u, lim["capacity"], 1.0 - np.mean(acc, axis=1)


# ------------------------------------------------------------------ operating point ----
def _terms(u: _Setup, lam: np.ndarray, b: np.ndarray) -> dict:
    """Iteration times and prefill moments at decode batch ``b`` ((n,) or (n, k))."""
    shape = b.shape
    col = (lambda a: a) if b.ndim == 1 else (lambda a: a[:, None])
    i, w = locate(u.grid, np.maximum(b, 1.0))
    i = i.reshape(shape[0], -1)
    w = w.reshape(i.shape)

    def lookup(table):
        lo = np.take_along_axis(table, i, axis=1)
        return (lo + w * (np.take_along_axis(table, i + 1, axis=1) - lo)).reshape(shape)

    t_e = lookup(u.step)
    t_f = t_e + lookup(u.fill)
    r = np.maximum(col(u.budget) - b, 1.0)
    chunk = col(u.chunked)
    m_s = np.where(chunk, col(u.m_i) / r * t_f + col(u.m_a), col(u.m_s))
    m_s2 = np.where(chunk, col(u.m_i2) / r**2 * t_f**2 + 2 * t_f / r * col(u.m_ia)
                    + col(u.m_a2), col(u.m_s2))
    dt = t_f - t_e
    m_j = np.where(chunk, col(u.m_i) / r * dt + col(u.m_a), m_s)
    m_j2 = np.where(chunk, col(u.m_i2) / r**2 * dt**2 + 2 * dt / r * col(u.m_ia)
                    + col(u.m_a2), m_s2)
    lam = col(lam)
    gap = lam * col(u.mean_steps) * t_e - b * (1.0 - lam * m_j)
    ok = (gap <= 0) & (lam * m_s < 1.0) & (lam * m_j < 1.0)
    return {"t_e": t_e, "t_f": t_f, "m_s": m_s, "m_s2": m_s2, "m_j": m_j, "m_j2": m_j2,
            "ok": ok}


def _point(u: _Setup, lam: np.ndarray) -> _Point:
    """Smallest decode batch solving Little's law with the mean TPOT, per design."""
    grid = u.bmax[:, None] * B_GRID[None, :]
    ok = _terms(u, lam, grid)["ok"]
    found = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    hi = grid[np.arange(u.bmax.shape[0]), first]
    lo = np.where(first > 0, grid[np.arange(u.bmax.shape[0]), np.maximum(first - 1, 0)], 0.0)
    for _ in range(REFINE_STEPS):
        mid = 0.5 * (lo + hi)
        good = _terms(u, lam, mid)["ok"]
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    t = _terms(u, lam, hi)
    found = found & t["ok"] & (u.bmax >= B_GRID[0])
    tpot = t["t_e"] / np.maximum(1.0 - lam * t["m_j"], 1e-12)
    return _Point(ok=found, batch=hi, t_e=t["t_e"], t_f=t["t_f"], tpot=tpot,
                  rho=lam * t["m_s"], m_s=t["m_s"], m_s2=t["m_s2"], m_j2=t["m_j2"])


def _max_rate(u: _Setup) -> np.ndarray:
    """Highest sustainable rate per design (bisection on the operating point's existence)."""
    n = u.bmax.shape[0]
    top = _terms(u, np.zeros(n), np.maximum(u.bmax, 1e-9))
    low = _terms(u, np.zeros(n), np.zeros(n))
    hi = np.minimum(u.bmax / np.maximum(u.mean_steps * top["t_e"], 1e-30),
                    1.0 / np.maximum(low["m_s"], 1e-30)) * 1.001
    hi = np.where(u.bmax >= B_GRID[0], hi, 0.0)
    lo = np.zeros(n)
    for _ in range(RATE_STEPS):
        mid = 0.5 * (lo + hi)
        good = _point(u, mid).ok
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return lo


# ------------------------------------------------------------------- latencies ----
def _ttft_tail(u: _Setup, lam: np.ndarray, p: _Point):
    """(base (n, m), rho, shape, scale (n, 1)): P(TTFT > x) = 1 below base, else
    rho P(G > x - base), G the prefill wait given that it waits, Gamma-distributed with
    the M/G/1 first two moments (Takacs): E[W] = rate E[S^2] / (2 (1 - rho)),
    E[W^2] = 2 E[W]^2 + rate E[S^3] / (3 (1 - rho))."""
    r = np.maximum(u.budget - p.batch, 1.0)
    a = p.t_f / r  # seconds per prompt token on the chunked prefill path
    # chunked: the first token comes at the end of the iteration holding the last chunk,
    # on average half a full iteration after the prompt's fluid share of iterations
    s = np.where(u.chunked[:, None], u.prompt[None, :] * a[:, None] + u.attn
                 + 0.5 * p.t_f[:, None], u.whole)
    base = s + 0.5 * p.t_e[:, None]
    rho = np.clip(p.rho, 0.0, 1.0 - 1e-12)
    m_s3 = np.where(u.chunked, a**3 * u.m_i3 + 3 * a**2 * u.m_i2a + 3 * a * u.m_ia2 + u.m_a3,
                    u.m_s3)
    w1 = lam * p.m_s2 / (2.0 * (1.0 - rho))
    w2 = 2.0 * w1**2 + lam * m_s3 / (3.0 * (1.0 - rho))
    c1 = w1 / np.maximum(rho, 1e-300)
    var = np.maximum(w2 / np.maximum(rho, 1e-300) - c1**2, 1e-6 * c1**2)
    # vLLM: the prompts arriving during the residual of the iteration in progress, i.e.
    # (1 - rho) of the wait (Pollaczek-Khinchine), join the request's prefill iteration and
    # lengthen it by rate x that time x E[S]
    stretch = np.where(u.chunked, 1.0, 1.0 + rho * (1.0 - rho))
    return base, rho[:, None], (c1**2 / var)[:, None], (stretch * var / c1)[:, None]


def _tpot_gamma(u: _Setup, lam: np.ndarray, p: _Point, *, ttft_mean: np.ndarray):
    """(shape, scale, steps): the stall X of each request, Gamma-distributed.

    A request's decode time is a busy period (delay-cycle analysis of M/G/1 priority
    queues): it starts with its own decode work w0 = (O - 1) t_e plus the prefill work
    queued behind it during its TTFT, and grows by every prefill arriving meanwhile
    (rate, stall J, load rho_J = rate E[J]): duration mean w0 / (1 - rho_J), variance
    w0 rate E[J^2] / (1 - rho_J)^3 (stalls lengthen the window that collects stalls)."""
    steps = np.maximum(u.steps, 1.0)[None, :]
    free = np.clip(p.t_e / np.maximum(p.tpot, 1e-300), 1e-9, 1.0)[:, None]  # 1 - rho_J
    m_j = ((1.0 - free[:, 0]) / np.maximum(lam, 1e-300))[:, None]  # E[J]
    own = steps * p.t_e[:, None]
    start = own + lam[:, None] * ttft_mean * m_j
    mean = start / free - own
    var = start * lam[:, None] * p.m_j2[:, None] / free**3
    shape = mean**2 / np.maximum(var, 1e-300)
    scale = var / np.maximum(mean, 1e-300)
    return shape, scale, steps


def _ttft_means(*, base: np.ndarray, rho: np.ndarray, shape: np.ndarray, scale: np.ndarray
                ) -> np.ndarray:
    """Mean TTFT of each request (n, m)."""
    return base + rho * shape * scale


def _attainment(u: _Setup, lam: np.ndarray, p: _Point, *, ttft: float, tpot: float
                ) -> np.ndarray:
    base, rho, shape, scale = _ttft_tail(u, lam, p)
    late = np.where(ttft >= base, rho * (1.0 - _gamma_cdf(shape, scale, ttft - base)), 1.0)
    waits = _ttft_means(base=base, rho=rho, shape=shape, scale=scale)
    shape, scale, steps = _tpot_gamma(u, lam, p, ttft_mean=waits)
    room = (tpot - p.t_e)[:, None] * steps
    fast = _gamma_cdf(shape, scale, room)
    fast = np.where(room < 0, 0.0, fast)
    fast = np.where(u.steps[None, :] > 0, fast, 1.0)
    return np.mean(u.accepted * (1.0 - late) * fast, axis=1)


def _p99s(u: _Setup, lam: np.ndarray, p: _Point) -> tuple[np.ndarray, np.ndarray]:
    """P99 TTFT and TPOT over the accepted requests (quantiles of the mixtures)."""
    acc = u.accepted
    count = np.maximum(acc.sum(axis=1), 1.0)
    base, rho, w_shape, w_scale = _ttft_tail(u, lam, p)

    def ttft_over(x):
        tail = np.where(x[:, None] >= base, rho * (1.0 - _gamma_cdf(
            w_shape, w_scale, x[:, None] - base)), 1.0)
        return (acc * tail).sum(axis=1) / count

    hi = np.max(np.where(acc > 0, base, 0.0), axis=1) + (
        (w_shape * w_scale + 12.0 * np.sqrt(w_shape) * w_scale)[:, 0])
    ttft99 = _quantile(ttft_over, np.zeros_like(hi), hi)
    shape, scale, steps = _tpot_gamma(u, lam, p, ttft_mean=_ttft_means(
        base=base, rho=rho, shape=w_shape, scale=w_scale))
    many = acc * (u.steps[None, :] > 0)
    count2 = np.maximum(many.sum(axis=1), 1.0)

    def tpot_over(y):
        room = np.maximum(y - p.t_e, 0.0)[:, None] * steps
        cdf = _gamma_cdf(shape, scale, room)
        return (many * (1.0 - cdf)).sum(axis=1) / count2

    spread = np.max((shape * scale + 12.0 * np.sqrt(shape) * scale) / steps, axis=1)
    tpot99 = _quantile(tpot_over, p.t_e, p.t_e + spread + 1e-12)
    return ttft99, tpot99


def _gamma_cdf(shape: np.ndarray, scale: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(X <= x) of Gamma(shape, scale) by the Wilson-Hilferty cube-root normal
    approximation (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions 1,
    ch. 17), with the normal CDF in its tanh form (error below 2e-4); 1 where X is 0."""
    k = np.maximum(shape, 1e-12)
    v = 1.0 / (9.0 * k)
    z = np.maximum(x, 0.0) / np.maximum(k * scale, 1e-300)
    np.cbrt(z, out=z)
    z -= 1.0 - v
    z /= np.sqrt(v)
    t = z * z
    t *= 0.044715
    t += 1.0
    t *= z
    t *= 0.7978845608
    np.tanh(t, out=t)
    t += 1.0
    t *= 0.5
    return np.where((shape > 0) & (scale > 0), t, 1.0)


def _quantile(over, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smallest x in [lo, hi] with over(x) <= 1 - P99 (bisection; over decreasing)."""
    for _ in range(QUANTILE_STEPS):
        mid = 0.5 * (lo + hi)
        above = over(mid) > 1.0 - P99
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return hi


def _goodput(u: _Setup, lam_max: np.ndarray, *, ttft: float, tpot: float,
             target: float) -> np.ndarray:
    lo = np.zeros_like(lam_max)
    hi = lam_max.copy()
    for _ in range(RATE_STEPS):
        mid = 0.5 * (lo + hi)
        p = _point(u, mid)
        good = p.ok & (_attainment(u, mid, p, ttft=ttft, tpot=tpot) >= target)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return lo
