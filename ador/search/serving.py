"""The serving workload of a search: its requests, SLOs and scheduler, the estimated serving
figures of a population, and the ``ador serve`` command that simulates one design.

A problem with a ``serving`` section (:class:`ador.spec.problem.ServingSearch`) adds the
serving metrics of :mod:`ador.metrics` (``serving=True``: goodput per chip, per mm², per W
and per $, P99 TTFT and TPOT) to every design. Inside the search they come from the
vectorized analytical estimate (:func:`ador.serve.estimate.estimate_serving`, one pass per
population); :mod:`ador.search.confirm` re-evaluates chosen designs with the
discrete-event simulator through :func:`ador.serve.runner.serve`, the function behind
``ador serve``, with the arguments :meth:`ServeArgs.command` prints, so a confirmed figure
is reproduced exactly by that command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ador.errors import AdorError, SpecError
from ador.metrics import GOODPUT_PER_CHIP, GOODPUT_PER_FIGURE, SERVING, TPOT_P99, TTFT_P99
from ador.model.design import DesignArrays
from ador.serve.estimate import estimate_serving
from ador.serve.estimate_pd import estimate_disaggregated
from ador.serve.estimate_semipd import estimate_semi_pd
from ador.serve.requests import RequestSet
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.io import load_hardware, load_model, to_data, validate_data
from ador.spec.model import ModelSpec
from ador.spec.problem import POOL_HARDWARE_DESIGN, ProblemSpec, ServingDeployment
from ador.spec.scheduler import SchedulerConfig
from ador.spec.serving import ServingWorkloadSpec
from ador.spec.space import DEPLOYMENT_FIELDS, SERVING_FIELDS

# per-chip figures of a pool's chips the per-figure goodputs divide by
PoolFigures = Callable[[str, int], dict[str, float]]  # (template name, tp) -> column: value


@dataclass(frozen=True)
class ServingSetup:
    """Everything the serving figures of a problem depend on, loaded once."""

    workload_ref: str  # as the problem names it (name in workloads/serving or a path)
    workload: ServingWorkloadSpec  # with the problem's request count and rate applied
    requests: RequestSet
    rate_per_s: float  # arrival rate the P99 latencies are taken at
    rate_given: bool  # the problem sets the rate (else the workload's own)
    ttft_slo_s: float
    tpot_slo_s: float
    attainment: float
    scheduler: SchedulerConfig  # before the serving knobs
    model_name: str
    model: ModelSpec
    precision: str
    pp: int
    deployment: ServingDeployment = field(default_factory=ServingDeployment)  # before knobs
    _schedulers: dict = field(default_factory=dict, compare=False, repr=False)
    _deployments: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, spec: ProblemSpec, *, file: str) -> ServingSetup:
        sv = spec.serving
        assert sv is not None
        try:
            workload, base_dir = load_workload(sv.workload)
        except SpecError as err:
            raise SpecError(err.rule, file=err.file or file, field=err.field or
                            "serving.workload", value=sv.workload) from None
        overrides: dict[str, Any] = {"num_requests": sv.num_requests}
        if sv.rate is not None:
            overrides["rate"] = sv.rate
        workload = apply_overrides(workload, overrides)
        requests = requests_from_spec(workload, base_dir=base_dir)
        if requests.concurrency is not None or workload.arrivals.kind == "max_load":
            raise SpecError("a serving search needs open-loop arrivals (Poisson, Gamma or a "
                            "trace), not a closed loop or all at once: goodput is a rate",
                            file=file, field="serving.workload", value=sv.workload)
        slo = sv.slo or workload.slo
        if slo is None:
            raise SpecError("a serving search needs SLOs: give serving.slo (ttft, tpot) or "
                            "a workload with an slo block", file=file, field="serving.slo",
                            value=None)
        first = spec.scenarios[0]
        check_pool_hardware(sv.deployment, file=file)
        own = to_data(workload.scheduler or SchedulerConfig(), exclude_none=True)
        base = validate_data(SchedulerConfig, own | to_data(sv.scheduler, exclude_none=True),
                             file=file)
        return cls(workload_ref=sv.workload, workload=workload, requests=requests,
                   rate_per_s=float(sv.rate) if sv.rate is not None else arrival_rate(requests),
                   rate_given=sv.rate is not None, ttft_slo_s=float(slo.ttft),
                   tpot_slo_s=float(slo.tpot), attainment=float(sv.attainment), scheduler=base,
                   model_name=first.model, model=load_model(first.model),
                   precision=first.precision.value, pp=first.pp, deployment=sv.deployment)

    def schedulers(self, settings: list[dict[str, Any]], *, file: str = "space"
                   ) -> list[SchedulerConfig]:
        """The scheduler of each design: the base with the design's serving knobs."""
        out = []
        for row in settings:
            key = tuple(sorted((k, v) for k, v in row.items() if k not in DEPLOYMENT_FIELDS))
            if key not in self._schedulers:
                data = {**to_data(self.scheduler, exclude_none=True), **dict(key)}
                self._schedulers[key] = validate_data(SchedulerConfig, data, file=file)
            out.append(self._schedulers[key])
        return out

    def deployments(self, settings: list[dict[str, Any]], *, file: str = "space"
                    ) -> list[ServingDeployment]:
        """The deployment of each design: the base with the design's deployment knobs."""
        out = []
        for row in settings:
            key = tuple(sorted((k, v) for k, v in row.items() if k in DEPLOYMENT_FIELDS))
            if key not in self._deployments:
                data = {**to_data(self.deployment), **dict(key)}
                self._deployments[key] = validate_data(ServingDeployment, data, file=file)
            out.append(self._deployments[key])
        return out

    def columns(self, *, designs: DesignArrays, tp: np.ndarray,
                schedulers: list[SchedulerConfig], static: dict[str, np.ndarray],
                deployments: list[ServingDeployment] | None = None,
                pool_figures: PoolFigures | None = None) -> dict[str, np.ndarray]:
        """The serving metric columns of ``designs`` (estimated), shape (n,) each: one
        colocated or semi-PD instance, or each design's disaggregated deployment (``deployments``;
        ``pool_figures`` gives the per-chip figures of a template pool's chips)."""
        tp = np.asarray(tp, dtype=int)
        deps = deployments or [self.deployment] * designs.n
        policy = np.array([d.policy for d in deps])
        # rows: goodput, P99 TTFT, P99 TPOT (none where no policy estimated the design)
        out = np.vstack([np.zeros(designs.n), np.full((2, designs.n), np.inf)])
        for name, estimator in ESTIMATORS.items():
            rows = np.flatnonzero(policy == name)
            if rows.size:
                out[:, rows] = np.vstack(estimator(
                    self, designs=designs, rows=rows, tp=tp,
                    schedulers=[schedulers[i] for i in rows],
                    deployments=[deps[i] for i in rows]))
        chips = tp.astype(float) * self.pp
        figures = {divisor.column: np.array(static[divisor.column], dtype=float)
                   for _, divisor in GOODPUT_PER_FIGURE}
        for r in np.flatnonzero(policy == "disaggregated"):
            if pool_figures is None:
                raise AdorError("a disaggregated deployment needs its pools' chip figures",
                                field="pool_figures")
            c, mean = deployment_figures(deps[r], tp=int(tp[r]), own={
                k: float(v[r]) for k, v in figures.items()}, pool_figures=pool_figures)
            chips[r] = c
            for k in figures:
                figures[k][r] = mean[k]
        return serving_columns(goodput_per_s=out[0], chips=chips, ttft_p99_s=out[1],
                               tpot_p99_s=out[2], static=figures)

    def common(self) -> dict[str, Any]:
        """The estimate keywords every deployment shares (model, lengths, rate, SLOs)."""
        return {"model": self.model, "precision": self.precision,
                "prompt_tokens": self.requests.prompt_tokens,
                "output_tokens": self.requests.output_tokens, "rate_per_s": self.rate_per_s,
                "ttft_slo_s": self.ttft_slo_s, "tpot_slo_s": self.tpot_slo_s,
                "attainment": self.attainment}


Estimate = tuple[np.ndarray, np.ndarray, np.ndarray]  # goodput, P99 TTFT, P99 TPOT


def _colocated(setup: ServingSetup, *, designs: DesignArrays, rows: np.ndarray,
               tp: np.ndarray, schedulers: list[SchedulerConfig],
               deployments: list[ServingDeployment]) -> Estimate:
    """One instance running both phases (ador.serve.estimate)."""
    est = estimate_serving(designs=designs.take(rows), tp=tp[rows], pp=setup.pp,
                           scheduler=schedulers, **setup.common())
    return est.goodput_per_s, est.ttft_p99_s, est.tpot_p99_s


def _semi_pd(setup: ServingSetup, *, designs: DesignArrays, rows: np.ndarray,
             tp: np.ndarray, schedulers: list[SchedulerConfig],
             deployments: list[ServingDeployment]) -> Estimate:
    """One instance of two workers sharing the chip (ador.serve.estimate_semipd)."""
    est = estimate_semi_pd(designs=designs.take(rows), tp=tp[rows], scheduler=schedulers,
                           prefill_share=np.array([d.prefill_share for d in deployments]),
                           decode_share=np.array([d.decode_share for d in deployments]),
                           **setup.common())
    return est.goodput_per_s, est.ttft_p99_s, est.tpot_p99_s


def _disaggregated(setup: ServingSetup, *, designs: DesignArrays, rows: np.ndarray,
                   tp: np.ndarray, schedulers: list[SchedulerConfig],
                   deployments: list[ServingDeployment]) -> Estimate:
    """Prefill and decode pools joined by the prefill chips' P2P links
    (ador.serve.estimate_pd)."""
    pre, dec = (pool_arrays(designs, rows, [getattr(d, f"{role}_hardware")
                                            for d in deployments])
                for role in ("prefill", "decode"))
    est = estimate_disaggregated(
        prefill=pre, decode=dec, tp=tp[rows], scheduler=schedulers,
        prefill_instances=np.array([d.prefill_instances for d in deployments]),
        decode_instances=np.array([d.decode_instances for d in deployments]),
        link_bytes_per_s=tp[rows] * pre.p2p_links * pre.p2p_bw,
        link_latency_s=pre.p2p_latency_s, **setup.common())
    return est.goodput_per_s, est.ttft_p99_s, est.tpot_p99_s


# The estimate of each deployment policy (ServingDeployment.policy), one entry each.
ESTIMATORS = {"colocated": _colocated, "semi_pd": _semi_pd, "disaggregated": _disaggregated}


def pool_arrays(designs: DesignArrays, rows: np.ndarray, hardware: list[str]
                ) -> DesignArrays:
    """One pool's chips of each of ``rows``: the design's own (``design``) or a template's."""
    parts, order = [], []
    for name in dict.fromkeys(hardware):
        mine = np.flatnonzero([h == name for h in hardware])
        if name == POOL_HARDWARE_DESIGN:
            parts.append(designs.take(rows[mine]))
        else:
            parts.append(_template(name).take(np.zeros(mine.size, dtype=int)))
        order.append(mine)
    return DesignArrays.concat(parts).take(np.argsort(np.concatenate(order), kind="stable"))


@functools.lru_cache(maxsize=64)
def _template(name: str) -> DesignArrays:
    """A hardware template's chip as one design row (loaded once per process)."""
    return DesignArrays.from_specs([load_hardware(name)])


def check_pool_hardware(dep: ServingDeployment, *, file: str) -> None:
    """The problem's own pool hardware must be ``design`` or a template that loads."""
    for role in ("prefill", "decode"):
        name = getattr(dep, f"{role}_hardware")
        if name == POOL_HARDWARE_DESIGN:
            continue
        try:
            load_hardware(name)
        except SpecError as err:
            raise SpecError(f"neither '{POOL_HARDWARE_DESIGN}' nor a hardware template that "
                            f"loads ({err.rule})", file=file,
                            field=f"serving.deployment.{role}_hardware", value=name) from None


def deployment_figures(dep: ServingDeployment, *, tp: int, own: dict[str, float],
                       pool_figures: PoolFigures) -> tuple[int, dict[str, float]]:
    """Chips of a disaggregated deployment, (x + y) x tp, and the mean per-chip area, power
    and cost of all its chips (``own``: the searched design's per-chip figures), so that
    goodput per chip x chips / (mean figure x chips) = goodput / total figure."""
    x, y = dep.prefill_instances, dep.decode_instances
    chips = (x + y) * tp

    def figs(name: str) -> dict[str, float]:
        return own if name == POOL_HARDWARE_DESIGN else pool_figures(name, tp)

    pre, dec = figs(dep.prefill_hardware), figs(dep.decode_hardware)
    return chips, {k: (x * pre[k] + y * dec[k]) / (x + y) for k in own}


def serving_columns(*, goodput_per_s: np.ndarray, chips: np.ndarray, ttft_p99_s: np.ndarray,
                    tpot_p99_s: np.ndarray, static: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    """The serving metric columns from a deployment's goodput and P99 latencies, its chips
    and the mean per-chip area, power and cost of its chips (``static``: a colocated
    instance's are the design's; a disaggregated deployment's the mean over both pools,
    :func:`deployment_figures`), so that goodput per mm² is goodput over the deployment's
    total silicon; the same rule for estimate and simulator."""
    per_chip = goodput_per_s / chips
    cols = {GOODPUT_PER_CHIP.column: per_chip, TTFT_P99.column: ttft_p99_s,
            TPOT_P99.column: tpot_p99_s}
    with np.errstate(divide="ignore", invalid="ignore"):
        for quotient, divisor in GOODPUT_PER_FIGURE:
            cols[quotient.column] = per_chip / np.asarray(static[divisor.column], dtype=float)
    assert set(cols) == {m.column for m in SERVING}
    return cols


def arrival_rate(requests: RequestSet) -> float:
    """Mean arrival rate of an open-loop request set (requests per second)."""
    t = np.asarray(requests.arrival_s, dtype=float)
    span = float(t.max() - t.min()) if t.size > 1 else 0.0
    if span <= 0:
        raise SpecError("the workload's requests all arrive at once: a serving search needs "
                        "arrivals spread over time", field="serving.workload", value=None)
    return (t.size - 1) / span


@dataclass(frozen=True)
class ServeArgs:
    """One design's ``ador serve`` run: the keyword arguments of
    :func:`ador.serve.runner.serve` and the command line that passes the same values."""

    hardware: str  # YAML path
    setup: ServingSetup
    tp: int
    scheduler: dict[str, Any]  # serving knobs of the design (fields of SchedulerConfig)

    def kwargs(self) -> dict[str, Any]:
        s = self.setup
        overrides: dict[str, Any] = {"num_requests": int(s.workload.num_requests or
                                                         s.requests.n)}
        if s.rate_given:
            overrides["rate"] = repr(s.rate_per_s) + "/s"
        base = to_data(s.scheduler, exclude_none=True)
        sched = {k: base[k] for k in COMMAND_FIELDS if k in base} | self.scheduler
        return {"hardware": self.hardware, "model": s.model_name, "workload": s.workload_ref,
                "overrides": overrides, "scheduler": sched, "tp": self.tp, "pp": s.pp,
                "precision": s.precision, "ttft_slo": seconds_text(s.ttft_slo_s),
                "tpot_slo": seconds_text(s.tpot_slo_s), "goodput": True,
                "attainment": s.attainment}

    def command(self) -> str:
        kw = self.kwargs()
        parts = ["ador serve", shell_word(kw["hardware"]), "--model", kw["model"], "--workload",
                 shell_word(kw["workload"]), "--num-requests", str(kw["overrides"]["num_requests"])]
        if "rate" in kw["overrides"]:
            parts += ["--rate", kw["overrides"]["rate"]]
        parts += ["--tp", str(kw["tp"]), "--pp", str(kw["pp"]), "--precision", kw["precision"]]
        for key, value in kw["scheduler"].items():
            option = "--scheduler" if key == "name" else "--" + key.replace("_", "-")
            parts += [option, str(value)]
        parts += ["--ttft-slo", shell_word(kw["ttft_slo"]),
                  "--tpot-slo", shell_word(kw["tpot_slo"]), "--goodput",
                  "--attainment", repr(kw["attainment"]), "--json"]
        return " ".join(parts)


# Scheduler fields ``ador serve`` takes as options (the rest come from the workload).
COMMAND_FIELDS = tuple(SERVING_FIELDS.values())


def seconds_text(x: float) -> str:
    """A duration as an option value with its unit, exact on reading back."""
    return f"{x!r} s"


def shell_word(text: str) -> str:
    """The text as one shell word (quoted when it holds spaces or quotes)."""
    return f"'{text}'" if any(c in text for c in " '\"$") else text


__all__ = ["COMMAND_FIELDS", "ServeArgs", "ServingSetup", "arrival_rate", "check_pool_hardware",
           "deployment_figures", "pool_arrays", "seconds_text", "serving_columns",
           "shell_word"]
