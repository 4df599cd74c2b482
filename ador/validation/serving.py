"""Serving rows of a reference CSV: measured figures of a serving engine under load, checked
against the serving simulation (``ador.serve.simulate``).

A row with a non-empty ``workload`` column is a serving row (the format is documented with
the data, ``serving_README.md``): ``max_load`` (every request queued at time 0; the
TensorRT-LLM ``trtllm-bench throughput`` runs) or ``closed_loop`` (``concurrency`` clients,
each sending its next request when its previous one ends; the NIM runs). Every request has
exactly ``input_len`` prompt and ``output_len`` output tokens. How each row is simulated:

- scheduler: TensorRT-LLM in-flight batching with guaranteed-no-evict admission
  (``trtllm``), its maximum batch size and tokens per iteration derived from the KV capacity
  as ``trtllm-bench`` does (left to the scheduler: ``max_batch_size``/``max_num_tokens``
  None); the KV cache gets :data:`KV_FRACTION` of the memory left after the weights;
- requests: ``num_requests`` where the row gives it; otherwise :data:`DEFAULT_MAX_LOAD`
  for max load and :data:`CLOSED_LOOP_ROUNDS` requests per client for a closed loop;
- metrics: ``output_throughput`` is output tokens per second of the whole instance (all its
  chips), ``mean_ttft`` the mean time to first token, ``mean_itl`` the mean time between
  consecutive output tokens of a request, averaged over requests;
- max load: over the whole run, as ``trtllm-bench`` reports (all output tokens over the time
  from the first request to the last completion);
- closed loop: in steady state, as a benchmark client reports means over measurement windows
  once the load is stable. The first round (every client's first request, all sent at t = 0)
  and the last round (sent while the load drains) are left out: TTFT and ITL are averaged
  over the requests in between, and throughput counts the tokens produced between the
  second round's first request and the last request's sending (:func:`steady_state`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ador.errors import AdorError
from ador.metrics import ITL, OUTPUT_THROUGHPUT, TPOT, TTFT, summary_key
from ador.spec.base import Spec
from ador.spec.precision import Precision


def check_unit(metric: str, unit: str, allowed: Collection[str]) -> None:
    """A reference row's unit must be one its metric is measured in (ValueError if not)."""
    if unit not in allowed:
        raise ValueError(f"unit of metric '{metric}' must be one of "
                         f"{', '.join(allowed)} (got '{unit}')")


SERVING_METRIC_UNITS = {
    "output_throughput": {"tok/s": 1.0},
    "mean_ttft": {"ms": 1e-3, "s": 1.0},
    "mean_itl": {"ms": 1e-3, "s": 1.0},
}
SERVING_COLUMNS = ("id", "source", "hardware", "model", "precision", "tp", "workload",
                   "input_len", "output_len", "metric", "value", "unit")
OPTIONAL_COLUMNS = ("concurrency", "num_requests", "notes")
# KV share of the memory left after the weights: trtllm-bench sets 0.95 (serving_README.md,
# "KV cache in 95% of free memory"); NIM runs TensorRT-LLM with its default
# KvCacheConfig.free_gpu_memory_fraction of 0.9 (TensorRT-LLM API reference).
KV_FRACTION = {"max_load": 0.95, "closed_loop": 0.90}
# Requests when the row does not say: the README gives 1,000-3,000 for the unstated
# trtllm-bench runs; 2,000 is the middle. A closed loop runs this many requests per client:
# 18 rounds measured in steady state between the left-out first and last rounds.
DEFAULT_MAX_LOAD = 2000
CLOSED_LOOP_ROUNDS = 20
SUMMARY_KEYS = {"output_throughput": OUTPUT_THROUGHPUT.column,
                "mean_ttft": summary_key(TTFT, "mean"), "mean_itl": summary_key(ITL, "mean")}
PositiveInt = Annotated[int, Field(gt=0)]
ServingMetric = Literal["output_throughput", "mean_ttft", "mean_itl"]


class ServingReferenceRow(Spec):
    id: Annotated[str, Field(min_length=1)]
    source: str
    hardware: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]
    precision: Precision
    tp: PositiveInt
    workload: Literal["max_load", "closed_loop"]
    concurrency: PositiveInt | None = None
    num_requests: PositiveInt | None = None
    input_len: PositiveInt
    output_len: PositiveInt
    metric: ServingMetric
    value: Annotated[float, Field(gt=0)]
    unit: str
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ServingReferenceRow:
        check_unit(self.metric, self.unit, SERVING_METRIC_UNITS[self.metric])
        if self.workload == "closed_loop" and self.concurrency is None:
            raise ValueError("a closed_loop row needs its concurrency (number of clients)")
        return self

    @property
    def batch(self) -> None:
        return None

    @property
    def si_value(self) -> float:
        return self.value * SERVING_METRIC_UNITS[self.metric][self.unit]

    @property
    def requests(self) -> int:
        if self.num_requests is not None:
            return self.num_requests
        if self.workload == "closed_loop":
            return CLOSED_LOOP_ROUNDS * int(self.concurrency or 1)
        return DEFAULT_MAX_LOAD

    @property
    def sim_key(self) -> tuple:
        return (self.hardware, self.model, self.precision, self.tp, self.workload,
                self.concurrency, self.requests, self.input_len, self.output_len)


def serving_row_data(raw: dict) -> dict:
    """A CSV row's fields for a ServingReferenceRow: empty optional cells become None."""
    data = {k: v for k, v in raw.items() if k in SERVING_COLUMNS or k in OPTIONAL_COLUMNS}
    for key in ("concurrency", "num_requests"):
        if not data.get(key):
            data[key] = None
    data["notes"] = data.get("notes") or ""
    return data


def row_workload(row: ServingReferenceRow):
    """The row's requests (a RequestSet) and scheduler (a SchedulerConfig)."""
    import numpy as np

    from ador.serve import RequestSet, SchedulerConfig

    n = row.requests
    requests = RequestSet(arrival_s=np.zeros(n),
                          prompt_tokens=np.full(n, row.input_len, dtype=np.int64),
                          output_tokens=np.full(n, row.output_len, dtype=np.int64),
                          concurrency=row.concurrency if row.workload == "closed_loop"
                          else None)
    scheduler = SchedulerConfig(name="trtllm", memory_fraction=KV_FRACTION[row.workload])
    return requests, scheduler


def simulate_row(row: ServingReferenceRow):
    """The ServingResult of the row's setup."""
    from ador.serve import simulate
    from ador.spec.io import load_hardware, load_model

    requests, scheduler = row_workload(row)
    return simulate(hardware=load_hardware(row.hardware), model=load_model(row.model),
                    requests=requests, scheduler=scheduler, tp=row.tp,
                    precision=row.precision.value)


def steady_state(result, concurrency: int) -> dict[str, float] | None:
    """Steady-state figures of a closed loop of ``concurrency`` clients (see the module
    docstring), keyed as the summary; None when the run is too short (< 3 rounds)."""
    import numpy as np

    from ador.serve.metrics import per_request

    r = result.requests
    c, n = int(concurrency), r.n
    if n < 3 * c:
        return None
    t0, t1 = float(r.arrival_s[c]), float(r.arrival_s[n - 1])
    if not t1 > t0:
        return None
    per = per_request(r)
    mid = slice(c, n - c)
    tokens = np.count_nonzero((r.token_times_s >= t0) & (r.token_times_s <= t1))
    return {summary_key(TTFT, "mean"): float(np.nanmean(per[TTFT.column][mid])),
            summary_key(ITL, "mean"): float(np.nanmean(per[TPOT.column][mid])),
            OUTPUT_THROUGHPUT.column: tokens / (t1 - t0)}


def serving_metric(result, row: ServingReferenceRow) -> float:
    """The simulated figure for the row's metric, in the row's unit."""
    s = dict(result.summary)
    if row.workload == "closed_loop":
        s.update(steady_state(result, int(row.concurrency or 1)) or {})
    if result.rejected.count:
        reasons = ", ".join(f"{n} {why}" for why, n in result.rejected.reasons.items())
        raise AdorError(f"{result.rejected.count} of {row.requests} requests can never run "
                        f"({reasons})", field=row.id)
    key = SUMMARY_KEYS[row.metric]
    if key not in s:
        raise AdorError(f"the simulation gives no {key}", field=row.id)
    return float(s[key]) / SERVING_METRIC_UNITS[row.metric][row.unit]


def predict_serving(row: ServingReferenceRow, cache: dict) -> tuple[float | None, str | None]:
    """(predicted value in the row's unit, None) or (None, error message)."""
    try:
        if row.sim_key not in cache:
            cache[row.sim_key] = simulate_row(row)
        return serving_metric(cache[row.sim_key], row), None
    except AdorError as err:
        return None, err.message()
