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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ador.errors import SpecError
from ador.metrics import GOODPUT_PER_CHIP, GOODPUT_PER_FIGURE, SERVING, TPOT_P99, TTFT_P99
from ador.model.design import DesignArrays
from ador.serve.estimate import estimate_serving
from ador.serve.requests import RequestSet
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.io import load_model, to_data, validate_data
from ador.spec.model import ModelSpec
from ador.spec.problem import ProblemSpec
from ador.spec.scheduler import SchedulerConfig
from ador.spec.serving import ServingWorkloadSpec
from ador.spec.space import SERVING_FIELDS


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
    _schedulers: dict = field(default_factory=dict, compare=False, repr=False)

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
        own = to_data(workload.scheduler or SchedulerConfig(), exclude_none=True)
        base = validate_data(SchedulerConfig, own | to_data(sv.scheduler, exclude_none=True),
                             file=file)
        return cls(workload_ref=sv.workload, workload=workload, requests=requests,
                   rate_per_s=float(sv.rate) if sv.rate is not None else arrival_rate(requests),
                   rate_given=sv.rate is not None, ttft_slo_s=float(slo.ttft),
                   tpot_slo_s=float(slo.tpot), attainment=float(sv.attainment), scheduler=base,
                   model_name=first.model, model=load_model(first.model),
                   precision=first.precision.value, pp=first.pp)

    def schedulers(self, settings: list[dict[str, Any]], *, file: str = "space"
                   ) -> list[SchedulerConfig]:
        """The scheduler of each design: the base with the design's serving knobs."""
        out = []
        for row in settings:
            key = tuple(sorted(row.items()))
            if key not in self._schedulers:
                data = {**to_data(self.scheduler, exclude_none=True), **row}
                self._schedulers[key] = validate_data(SchedulerConfig, data, file=file)
            out.append(self._schedulers[key])
        return out

    def columns(self, *, designs: DesignArrays, tp: np.ndarray,
                schedulers: list[SchedulerConfig],
                static: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The serving metric columns of ``designs`` (estimated), shape (n,) each."""
        est = estimate_serving(
            designs=designs, model=self.model, tp=np.asarray(tp, dtype=int), pp=self.pp,
            precision=self.precision, prompt_tokens=self.requests.prompt_tokens,
            output_tokens=self.requests.output_tokens, scheduler=schedulers,
            rate_per_s=self.rate_per_s, ttft_slo_s=self.ttft_slo_s,
            tpot_slo_s=self.tpot_slo_s, attainment=self.attainment)
        chips = np.asarray(tp, dtype=float) * self.pp
        return serving_columns(goodput_per_s=np.asarray(est.goodput_per_s, dtype=float),
                               chips=chips, ttft_p99_s=np.asarray(est.ttft_p99_s, dtype=float),
                               tpot_p99_s=np.asarray(est.tpot_p99_s, dtype=float),
                               static=static)


def serving_columns(*, goodput_per_s: np.ndarray, chips: np.ndarray, ttft_p99_s: np.ndarray,
                    tpot_p99_s: np.ndarray, static: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    """The serving metric columns from an instance's goodput and P99 latencies and the
    designs' per-chip area, power and cost (the same rule for estimate and simulator)."""
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
                "precision": s.precision, "ttft_slo": _seconds(s.ttft_slo_s),
                "tpot_slo": _seconds(s.tpot_slo_s), "goodput": True,
                "attainment": s.attainment}

    def command(self) -> str:
        kw = self.kwargs()
        parts = ["ador serve", _quote(kw["hardware"]), "--model", kw["model"], "--workload",
                 _quote(kw["workload"]), "--num-requests", str(kw["overrides"]["num_requests"])]
        if "rate" in kw["overrides"]:
            parts += ["--rate", kw["overrides"]["rate"]]
        parts += ["--tp", str(kw["tp"]), "--pp", str(kw["pp"]), "--precision", kw["precision"]]
        for key, value in kw["scheduler"].items():
            option = "--scheduler" if key == "name" else "--" + key.replace("_", "-")
            parts += [option, str(value)]
        parts += ["--ttft-slo", _quote(kw["ttft_slo"]), "--tpot-slo", _quote(kw["tpot_slo"]),
                  "--goodput", "--attainment", repr(kw["attainment"]), "--json"]
        return " ".join(parts)


# Scheduler fields ``ador serve`` takes as options (the rest come from the workload).
COMMAND_FIELDS = tuple(SERVING_FIELDS.values())


def _seconds(x: float) -> str:
    return f"{x!r} s"


def _quote(text: str) -> str:
    return f"'{text}'" if any(c in text for c in " '\"$") else text


__all__ = ["COMMAND_FIELDS", "ServeArgs", "ServingSetup", "arrival_rate",
           "serving_columns"]
