"""``simulate``: requests through a scheduler on one serving instance of a design."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ador.errors import AdorError
from ador.serve.aggregate import FastState
from ador.serve.engine import RawRun, run
from ador.serve.kv import KvPool
from ador.serve.metrics import summarize
from ador.serve.reference import ReferenceState
from ador.serve.requests import RequestSet
from ador.serve.results import Rejected, RequestRecords, ServingResult, TimeSeries, frozen
from ador.serve.schedulers import SCHEDULERS, Scheduler
from ador.serve.schedulers.static import STATIC_MAX_TOKENS  # noqa: F401  (re-exported)
from ador.serve.steptime import StepModel, build_step_model
from ador.serve.stepviews import Step
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision
from ador.spec.scheduler import SchedulerConfig

STEP_MAX_TOKENS = 65536
STEP_MAX_BATCH = 4096


def default_step_model(*, hardware: HardwareSpec, model: ModelSpec, tp: int = 1, pp: int = 1,
                       precision: str = "fp16", scheduler: SchedulerConfig | None = None
                       ) -> StepModel:
    """The step model ``simulate`` builds when none is given: tables up to
    ``STEP_MAX_TOKENS`` batched tokens (more when the scheduler's limits need it) and
    ``STEP_MAX_BATCH`` decoding requests."""
    need = tokens_needed(scheduler, model.max_context) if scheduler is not None else 0
    return build_step_model(hardware=hardware, model=model, tp=tp, pp=pp, precision=precision,
                            max_tokens=max(STEP_MAX_TOKENS, need + STEP_MAX_BATCH),
                            max_batch=STEP_MAX_BATCH)


def tokens_needed(config: SchedulerConfig, max_context: int) -> int:
    """Most batched tokens an iteration of ``config`` can take (trtllm's derived limit never
    exceeds its 32768 cap)."""
    return SCHEDULERS[config.name].default_tokens(config, max_context)


def make_scheduler(*, config: SchedulerConfig, step: Step, requests: RequestSet,
                   max_context: int) -> tuple[Scheduler, KvPool, dict]:
    """The scheduler object with its limits resolved, its KV pool and the limits used."""
    cls = SCHEDULERS[config.name]
    kwargs = cls.resolve_limits(config=config, max_context=max_context, step=step,
                                requests=requests)
    max_tokens = kwargs["max_tokens"]
    if max_tokens + STEP_MAX_BATCH > step.max_tokens:
        raise AdorError(f"the step model covers at most {step.max_tokens:.0f} tokens per "
                        "iteration", field="scheduler.max_batched_tokens", value=max_tokens)
    capacity = step.kv_capacity_for(memory_fraction=config.kv_memory_fraction,
                                    activation_tokens=max_tokens)
    kv = KvPool(capacity_tokens=capacity, block_tokens=config.block_tokens,
                watermark_fraction=config.watermark_fraction if cls.uses_watermark else 0.0)
    sched = cls(config=config, kv=kv, max_context=max_context, **kwargs)
    limits = {"max_tokens_per_iteration": max_tokens, "kv_capacity_tokens": capacity,
              "kv_capacity_blocks": kv.capacity_blocks,
              "max_running": kwargs.get("max_batch_size", config.max_num_seqs)}
    return sched, kv, limits


def simulate(*, hardware: HardwareSpec, model: ModelSpec, requests: RequestSet,
             scheduler: SchedulerConfig | None = None, tp: int = 1, pp: int = 1,
             precision: str = "fp16", step_model: StepModel | None = None,
             progress: Callable[[float], None] | None = None,
             ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
             reference: bool = False, stop_below_attainment: float | None = None,
             instances: int = 1) -> ServingResult:
    """Simulate ``requests`` on ``instances`` TP x PP instances of ``hardware`` running
    ``model`` (requests dealt to instances in turn: request i to instance i mod k; a
    closed loop's clients likewise).

    ``step_model`` (from ``build_step_model``) can be passed to reuse it across runs;
    ``reference=True`` runs the slow object-per-request engine (for tests);
    ``stop_below_attainment`` (with both SLOs) ends the run as soon as that attainment is
    out of reach (summary ``stopped_early`` = 1; used by the goodput search).
    """
    config = scheduler or SchedulerConfig()
    if instances < 1 or instances > requests.n:
        raise AdorError("instances must be between 1 and the number of requests",
                        field="instances", value=instances)
    if step_model is not None and (step_model.tp, step_model.pp, step_model.precision) != (
            tp, pp, Precision(precision).value):
        raise AdorError("the step model was built for another tp/pp/precision",
                        field="step_model",
                        value=(step_model.tp, step_model.pp, step_model.precision))
    step = step_model or default_step_model(hardware=hardware, model=model, tp=tp, pp=pp,
                                            precision=precision, scheduler=config)
    sched, kv, limits = make_scheduler(config=config, step=step, requests=requests,
                                       max_context=model.max_context)
    swap_s = kv.block_tokens * step.kv_bytes_per_token / config.swap_bandwidth_bytes_per_s
    stop = None
    if stop_below_attainment is not None and ttft_slo_s is not None:
        stop = (ttft_slo_s, int((1.0 - stop_below_attainment) * requests.n) + 1)
    if instances == 1:
        raw = run(requests=requests, scheduler=sched, step=step, kv=kv,
                  state_factory=ReferenceState if reference else FastState,
                  progress=progress, swap_s_per_block=swap_s, stop_ttft_misses=stop)
    else:
        parts = []
        for k in range(instances):
            sub = _dealt(requests, k, instances)
            sched_k = make_scheduler(config=config, step=step, requests=requests,
                                     max_context=model.max_context)[0]
            parts.append(run(requests=sub, scheduler=sched_k, step=step, kv=kv,
                             state_factory=ReferenceState if reference else FastState,
                             swap_s_per_block=swap_s,
                             progress=_shard_progress(progress, k, instances)))
        raw = merge_runs(parts, n=requests.n, instances=instances)
    limits["instances"] = instances
    return assemble(raw=raw, requests=requests, chips=tp * pp * instances,
                    scheduler=config.name, limits=limits, ttft_slo_s=ttft_slo_s,
                    tpot_slo_s=tpot_slo_s, step=step, instances=instances)


def _dealt(requests: RequestSet, k: int, instances: int) -> RequestSet:
    """Instance k's share: every instances-th request from k (and its share of clients)."""
    conc = requests.concurrency
    if conc is not None:
        conc = max(1, conc // instances + (1 if k < conc % instances else 0))
    sub = requests.take(slice(k, None, instances))
    return RequestSet(arrival_s=sub.arrival_s, prompt_tokens=sub.prompt_tokens,
                      output_tokens=sub.output_tokens, concurrency=conc)


def merge_runs(parts: list[RawRun], *, n: int, instances: int) -> RawRun:
    """One run from the instances' runs: per-request arrays back in request order, time
    series rows of all instances ordered by time (column ``instance`` says whose)."""
    def scatter(name: str, dtype=np.float64) -> np.ndarray:
        out = np.empty(n, dtype=dtype)
        for k, p in enumerate(parts):
            out[k::instances] = getattr(p, name)
        return out

    pieces: list = [None] * n
    for k, p in enumerate(parts):
        for j in range(p.token_offsets.shape[0] - 1):
            pieces[k + j * instances] = p.token_times_s[p.token_offsets[j]:p.token_offsets[j + 1]]
    lengths = np.array([x.shape[0] for x in pieces], dtype=np.int64)
    reasons: dict = {}
    for p in parts:
        for why, c in p.reject_reasons.items():
            reasons[why] = reasons.get(why, 0) + c
    series = {key: np.concatenate([p.series[key] for p in parts]) for key in parts[0].series}
    series["instance"] = np.concatenate([np.full(p.series["t_s"].shape[0], k, np.int64)
                                         for k, p in enumerate(parts)])
    order = np.argsort(series["t_s"], kind="stable")
    series = {key: v[order] for key, v in series.items()}
    works = [p.work for p in parts if p.work is not None]
    work = ({key: np.concatenate([w[key] for w in works])[order] for key in works[0]}
            if works and len(works) == len(parts) else None)
    return RawRun(arrival_s=scatter("arrival_s"), start_s=scatter("start_s"),
                  first_token_s=scatter("first_token_s"), finish_s=scatter("finish_s"),
                  preemptions=scatter("preemptions", np.int64),
                  token_times_s=np.concatenate(pieces) if n else np.zeros(0),
                  token_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                  rejected=scatter("rejected", bool), reject_reasons=reasons, series=series,
                  stopped=any(p.stopped for p in parts), work=work)


def _shard_progress(progress: Callable[[float], None] | None, k: int,
                    instances: int) -> Callable[[float], None] | None:
    """Progress of shard ``k`` of ``instances`` reported as a fraction of the whole run."""
    if progress is None:
        return None
    report = progress
    return lambda f: report((k + f) / instances)


def utilisation(*, step: Step, series: dict, work: dict, span_s: float) -> dict:
    """Matrix-unit and HBM-bandwidth utilisation per chip over the run (achieved work over
    peak work in the makespan); pipeline stages share a pass's layers."""
    w = step.work
    if w is None:
        raise ValueError("the step model has no work tables")
    flops, hbm = w.totals(tokens=series["prefill_tokens"] + series["decode_tokens"],
                          sampled=work["sampled"], decode_n=series["decode_tokens"],
                          decode_ctx_sum=work["decode_ctx_sum"], scores=work["scores"],
                          prior_tokens=work["prior_tokens"],
                          new_tokens=series["prefill_tokens"])
    return {"compute_utilisation": flops / step.pp / (w.peak_flops * span_s),
            "hbm_bandwidth_utilisation": hbm / step.pp / (w.hbm_bytes_per_s * span_s)}


def assemble(*, raw: RawRun, requests: RequestSet, chips: int, scheduler: str, limits: dict,
             ttft_slo_s: float | None, tpot_slo_s: float | None,
             step: Step | None = None, instances: int = 1) -> ServingResult:
    recs = RequestRecords(
        arrival_s=raw.arrival_s, start_s=raw.start_s, first_token_s=raw.first_token_s,
        finish_s=raw.finish_s, prompt_tokens=requests.prompt_tokens,
        output_tokens=requests.output_tokens if raw.output_tokens is None
        else raw.output_tokens, preemptions=raw.preemptions,
        rejected=raw.rejected, token_times_s=raw.token_times_s, token_offsets=raw.token_offsets)
    ts = TimeSeries(**raw.series)
    if raw.output_tokens is not None:  # a truncating scheduler: what it cut
        lost = np.where(raw.rejected, 0, requests.output_tokens - raw.output_tokens)
        limits = {**limits, "truncated_requests": int((lost > 0).sum()),
                  "truncated_tokens": int(lost.sum())}
    summary = summarize(recs, ts, chips=chips, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s)
    if "busy_fraction" in summary:
        summary["busy_fraction"] /= instances
    if raw.stopped:
        summary["stopped_early"] = 1.0
    if step is not None and step.work is not None and raw.work is not None and (
            "makespan_s" in summary):
        summary.update(utilisation(step=step, series=raw.series, work=raw.work,
                                   span_s=summary["makespan_s"] * instances))
    return ServingResult(requests=recs, timeseries=ts, summary=frozen(summary), chips=chips,
                         rejected=Rejected(count=int(raw.rejected.sum()),
                                           reasons=frozen(raw.reject_reasons)),
                         scheduler=scheduler, limits=frozen(limits))
