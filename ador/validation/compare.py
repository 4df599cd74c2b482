"""Predict every reference row and summarise the errors.

Errors are fractions (0.10 is 10%); predicted and measured are in the row's own unit.
A row the model cannot handle (unknown template or model, unsupported precision, a TP degree
that does not divide the heads) is reported with its error message, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError
from ador.evaluate import Breakdown, evaluate
from ador.metrics import BY_NAME, FITS_MEMORY
from ador.spec.io import load_hardware, load_model
from ador.spec.scenario import Scenario
from ador.validation.reference import MEASURES, METRIC_UNITS, ReferenceRow
from ador.validation.serving import ServingReferenceRow, predict_serving


@dataclass(frozen=True)
class RowResult:
    row: ReferenceRow | ServingReferenceRow
    predicted: float | None  # in the row's unit
    error: str | None = None
    fits_memory: bool | None = None

    @property
    def measured(self) -> float:
        return self.row.value

    @property
    def signed_error(self) -> float | None:
        return None if self.predicted is None else (self.predicted - self.measured) / self.measured

    @property
    def ape(self) -> float | None:
        e = self.signed_error
        return None if e is None else abs(e)


@dataclass(frozen=True)
class ErrorSummary:
    n: int
    mape: float
    median_ape: float
    max_ape: float


@dataclass(frozen=True)
class Validation:
    rows: tuple[RowResult, ...]
    overall: ErrorSummary
    groups: tuple[tuple[tuple[str, str, str], ErrorSummary], ...]

    @property
    def failed(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if r.error is not None)


def metric_value(b: Breakdown, row: ReferenceRow) -> float:
    """The breakdown's figure for the row's metric, in the row's unit."""
    si = getattr(b, BY_NAME[MEASURES[row.metric]].column)
    return si / METRIC_UNITS[row.metric][row.unit]


def predict_row(row: ReferenceRow | ServingReferenceRow, cache: dict) -> RowResult:
    if isinstance(row, ServingReferenceRow):
        predicted, error = predict_serving(row, cache)
        return RowResult(row=row, predicted=predicted, error=error)
    key = (row.hardware, row.model, row.precision, row.tp, row.batch, row.input_len,
           row.output_len)
    try:
        if key not in cache:
            scenario = Scenario.uniform(precision=row.precision, batch=row.batch,
                                        input_len=row.input_len, output_len=row.output_len,
                                        tp=row.tp)
            cache[key] = evaluate(hardware=load_hardware(row.hardware),
                                  model=load_model(row.model), scenario=scenario)
        b = cache[key]
    except AdorError as err:
        return RowResult(row=row, predicted=None, error=err.message())
    return RowResult(row=row, predicted=metric_value(b, row), fits_memory=b.fits_memory)


def summarise(apes: list[float]) -> ErrorSummary:
    a = np.asarray(apes, dtype=np.float64)
    if a.size == 0:
        return ErrorSummary(n=0, mape=float("nan"), median_ape=float("nan"), max_ape=float("nan"))
    return ErrorSummary(n=int(a.size), mape=float(a.mean()), median_ape=float(np.median(a)),
                        max_ape=float(a.max()))


def validate_rows(rows: list[ReferenceRow | ServingReferenceRow]) -> Validation:
    cache: dict = {}
    results = tuple(predict_row(r, cache) for r in rows)
    ok = [r for r in results if r.ape is not None]
    groups: dict[tuple[str, str, str], list[float]] = {}
    apes = [float(r.ape or 0.0) for r in ok]
    for r, ape in zip(ok, apes, strict=True):
        groups.setdefault((r.row.source, r.row.hardware, r.row.metric), []).append(ape)
    return Validation(rows=results, overall=summarise(apes),
                      groups=tuple((k, summarise(v)) for k, v in sorted(groups.items())))


def to_json(v: Validation) -> dict:
    def summary(s: ErrorSummary) -> dict:
        return {"n": s.n, "mape": s.mape, "median_ape": s.median_ape, "max_ape": s.max_ape}

    return {
        "rows": [{
            "id": r.row.id, "source": r.row.source, "hardware": r.row.hardware,
            "model": r.row.model, "precision": r.row.precision.value, "tp": r.row.tp,
            "batch": r.row.batch, "input_len": r.row.input_len, "output_len": r.row.output_len,
            "metric": r.row.metric, "unit": r.row.unit, "predicted": r.predicted,
            "measured": r.measured, "signed_error": r.signed_error, "ape": r.ape,
            FITS_MEMORY.column: r.fits_memory, "error": r.error,
            "workload": getattr(r.row, "workload", None),
            "concurrency": getattr(r.row, "concurrency", None),
            "num_requests": getattr(r.row, "requests", None),
        } for r in v.rows],
        **summary(v.overall),
        "groups": [{"source": k[0], "hardware": k[1], "metric": k[2], **summary(s)}
                   for k, s in v.groups],
        "errors": [{"id": r.row.id, "error": r.error} for r in v.failed],
    }
