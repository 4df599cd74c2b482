"""The metric vocabulary: every figure of merit ador reports, defined once.

A :class:`Metric` names a result (``tpot``), its column in results and run folders
(``tpot_s``, SI unit in the suffix), how it is shown (title, short header, unit, display
scale and format), whether higher is better, and how it combines over the scenarios of a
search problem. Problem specs, objectives, constraints, progress lines, CLI tables, run-folder
columns, report figures and axis labels all read this table; the numbers themselves are
computed in :mod:`ador.evaluate.columns`. Adding a metric is one entry here plus its
computation there.

The serving simulator's figures are entries here too, computed in :mod:`ador.serve.metrics`:
latency distributions (``distribution``: per request, a column of a run's requests.csv, or
per token gap), each summarised by ``LATENCY_STATS`` under ``summary_key`` (``ttft_p99_s``),
and summary figures (throughputs, with ``per_chip`` keys, and SLO attainment). Run folders,
tables, figures, rate sweeps and validation read names, keys and titles from here.

Combining over scenarios: ``worst`` takes the largest value (latencies, power, energy per
request), ``geomean`` the geometric mean (rates and efficiencies), ``same`` the value of a
scenario-independent design property (area, cost, bandwidths), ``all`` the smallest
(a 0/1 flag that must hold in every scenario).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ador.units import format_quantity

Combine = Literal["worst", "geomean", "same", "all"]


@dataclass(frozen=True)
class Metric:
    name: str  # objective / constraint name (``tpot``)
    column: str  # result column and attribute, SI unit as suffix (``tpot_s``)
    title: str  # axis and hover title
    unit: str  # display unit after ``scale`` (axis labels)
    symbol: str = ""  # SI symbol for format_quantity ("s", "J"); "" when fmt is used
    fmt: str = "{:.4g}"  # format of the SI value when ``symbol`` is empty
    short: str = ""  # narrow table header
    scale: float = 1.0  # SI value x scale = value in ``unit``
    higher_is_better: bool = False
    combine: Combine = "geomean"
    objective: bool = False  # may be a search objective
    searched: bool = False  # a column of a search's designs.csv
    ratio: str | None = None  # comparison.csv column of design vs baseline
    compared: str | None = None  # row label of ``ador compare``
    table: bool = False  # a column of the search's Pareto table
    table_if_used: bool = False  # ... only when an objective or limit of the problem
    # The problem field ("slo.tpot_s", "budgets.area_mm2") that sets an upper limit on it;
    # budgets limit what may be built, SLOs what the service must meet.
    limit: str | None = None
    # A latency the serving simulator measures per request (``request``) or per token gap
    # (``token``) and summarises by its mean and percentiles (``summary_key``).
    distribution: Literal["request", "token"] | None = None
    # A figure of the serving workload of a search (``ProblemSpec.serving``): estimated
    # for every design (ador.serve.estimate), simulated for the confirmed ones.
    serving: bool = False

    @property
    def axis_title(self) -> str:
        arrow = "higher is better" if self.higher_is_better else "lower is better"
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.title}{unit} ({arrow})"

    @property
    def header(self) -> str:
        return self.short or self.name

    def text(self, value: float, *, digits: int = 4) -> str:
        """The SI value as people read it (``12.3 ms``, ``1,234 tok/s``)."""
        if value is None or not np.isfinite(value):
            return "-"
        if self.symbol:
            return format_quantity(float(value), self.symbol, digits=digits)
        return self.fmt.format(int(value) if self.fmt == "{:d}" else float(value))

    def objective_value(self, values: np.ndarray) -> np.ndarray:
        """The minimised objective: maximised metrics negated."""
        return -values if self.higher_is_better else values

    def ratio_value(self, design: float, baseline: float) -> float:
        """Design against baseline, > 1 when the design is better."""
        return design / baseline if self.higher_is_better else baseline / design

    def combined(self, stack: np.ndarray) -> np.ndarray:
        """Values of several scenarios (rows of ``stack``) combined into one per design."""
        if self.combine == "all":
            return stack.min(axis=0)
        if self.combine == "geomean":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.exp(np.mean(np.log(stack), axis=0))
        return stack.max(axis=0)


METRICS: tuple[Metric, ...] = (
    Metric("ttft", "ttft_s", "time to first token", "ms", symbol="s", short="ttft", scale=1e3,
           combine="worst", objective=True, searched=True, compared="ttft", table=True,
           limit="slo.ttft_s", distribution="request"),
    Metric("tpot", "tpot_s", "time per output token", "ms", symbol="s", short="tpot",
           scale=1e3, combine="worst", objective=True, searched=True, ratio="tpot_ratio",
           compared="tpot", table=True, limit="slo.tpot_s", distribution="request"),
    Metric("e2e", "e2e_s", "end to end", "s", symbol="s", combine="worst",
           compared="end to end", distribution="request"),
    Metric("throughput", "throughput_tok_s", "throughput", "tok/s", fmt="{:,.1f} tok/s",
           higher_is_better=True, compared="throughput"),
    Metric("throughput_per_chip", "throughput_per_chip_tok_s", "throughput per chip", "tok/s",
           fmt="{:,.0f}", short="tok/s/chip", higher_is_better=True, objective=True,
           searched=True, ratio="throughput_per_chip_ratio", compared="throughput per chip",
           table=True),
    Metric("tokens_per_s_per_mm2", "tokens_per_s_per_mm2", "throughput per area",
           "tok/s/mm²", fmt="{:.2f}", short="tok/s/mm²", higher_is_better=True,
           objective=True, searched=True, ratio="tokens_per_s_per_mm2_ratio",
           compared="tokens/s per mm²", table=True),
    Metric("tokens_per_j", "tokens_per_j", "energy efficiency", "tok/J", fmt="{:.1f}",
           short="tok/J", higher_is_better=True, objective=True, searched=True,
           ratio="tokens_per_j_ratio", compared="tokens per joule", table=True),
    Metric("tokens_per_s_per_usd", "tokens_per_s_per_usd", "throughput per cost", "tok/s/$",
           fmt="{:.3f}", short="tok/s/$", higher_is_better=True, objective=True,
           searched=True, compared="tokens/s per $"),
    Metric("area", "area_mm2", "area per chip", "mm²", fmt="{:.0f}", short="area mm²",
           combine="same", objective=True, searched=True, compared="die area (mm²)",
           table=True, limit="budgets.area_mm2"),
    Metric("hbm_bw", "hbm_bw_bytes_per_s", "HBM bandwidth per chip", "TB/s", symbol="B/s",
           scale=1e-12, combine="same", searched=True,
           limit="budgets.hbm_bandwidth_bytes_per_s"),
    Metric("power", "power_w", "power per chip", "W", fmt="{:.0f}", short="power W",
           combine="worst", objective=True, searched=True, compared="average power (W)",
           table=True, table_if_used=True, limit="budgets.power_w"),
    Metric("p2p_bw", "p2p_bw_bytes_per_s", "P2P bandwidth per chip", "GB/s", symbol="B/s",
           scale=1e-9, combine="same", searched=True,
           limit="budgets.p2p_bandwidth_bytes_per_s"),
    Metric("cost", "cost_usd", "cost per chip", "$", fmt="{:,.0f}", short="cost $",
           combine="same", objective=True, searched=True, compared="cost per chip ($)",
           limit="budgets.cost_usd"),
    Metric("power_density", "power_density_w_per_mm2", "peak power density", "W/mm²",
           fmt="{:.3f}", short="W/mm²", combine="same", searched=True, table=True,
           table_if_used=True, limit="budgets.power_density_w_per_mm2"),
    Metric("peak_power", "peak_power_w", "peak power per chip", "W", fmt="{:.0f}",
           combine="same"),
    Metric("energy_per_token", "energy_per_token_j", "energy per output token", "J",
           symbol="J", combine="worst", compared="energy per token (J)"),
    Metric("energy_per_request", "energy_per_request_j", "energy per request", "J",
           symbol="J", short="J/req", combine="worst", objective=True, searched=True,
           compared="energy per request (J)", table=True, table_if_used=True),
    Metric("tp", "tp", "tensor-parallel degree", "", fmt="{:d}", combine="same",
           searched=True, table=True),
    Metric("chips", "chips", "chips per system", "", fmt="{:d}", combine="same",
           searched=True),
    Metric("fits_memory", "fits_memory", "fits in memory", "", fmt="{:d}", combine="all",
           searched=True),
    # Serving figures of a search with a serving workload (ador.search.serving): goodput is
    # requests/s meeting both SLOs at the attainment target, per chip and per chip's area,
    # power and cost; P99 latencies at the workload's arrival rate.
    Metric("goodput_per_chip", "goodput_per_chip_per_s", "goodput per chip", "req/s",
           fmt="{:.3f}", short="good/s/chip", higher_is_better=True, objective=True,
           searched=True, serving=True, ratio="goodput_per_chip_ratio", table=True,
           table_if_used=True),
    Metric("goodput_per_mm2", "goodput_per_s_per_mm2", "goodput per area", "req/s/cm²",
           fmt="{:.4g}", short="good/s/mm²", scale=100.0, higher_is_better=True,
           objective=True, searched=True, serving=True, ratio="goodput_per_mm2_ratio",
           table=True, table_if_used=True),
    Metric("goodput_per_w", "goodput_per_s_per_w", "goodput per watt", "req/J", fmt="{:.4g}",
           short="good/J", higher_is_better=True, objective=True, searched=True,
           serving=True, ratio="goodput_per_w_ratio", table=True, table_if_used=True),
    Metric("goodput_per_usd", "goodput_per_s_per_usd", "goodput per cost", "req/s/k$",
           fmt="{:.4g}", short="good/s/$", scale=1e3, higher_is_better=True,
           objective=True, searched=True, serving=True, ratio="goodput_per_usd_ratio",
           table=True, table_if_used=True),
    Metric("ttft_p99", "ttft_p99_s", "P99 time to first token (serving)", "ms", symbol="s",
           short="ttft p99", scale=1e3, combine="worst", objective=True, searched=True,
           serving=True, table=True, table_if_used=True, limit="slo.ttft_p99_s"),
    Metric("tpot_p99", "tpot_p99_s", "P99 time per output token (serving)", "ms", symbol="s",
           short="tpot p99", scale=1e3, combine="worst", objective=True, searched=True,
           serving=True, table=True, table_if_used=True, limit="slo.tpot_p99_s"),
    # Latencies of the serving simulator only (ador.serve.metrics).
    Metric("normalized_latency", "normalized_latency_s", "normalized latency (per output token)",
           "ms", symbol="s", scale=1e3, combine="worst", distribution="request"),
    Metric("queueing", "queueing_s", "queueing delay", "s", symbol="s", combine="worst",
           distribution="request"),
    Metric("itl", "itl_s", "inter-token latency", "ms", symbol="s", scale=1e3, combine="worst",
           distribution="token"),
    # Summary figures of a serving run (ador.serve.metrics); ``per_chip`` names the per-chip
    # key of a throughput.
    Metric("output_throughput", "output_throughput_tok_per_s", "output throughput", "tok/s",
           fmt="{:,.1f} tok/s", higher_is_better=True),
    Metric("request_throughput", "request_throughput_per_s", "request throughput", "req/s",
           fmt="{:,.3f} req/s", higher_is_better=True),
    Metric("slo_attainment", "slo_attainment", "SLO attainment", "", fmt="{:.1%}",
           higher_is_better=True),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
BY_COLUMN: dict[str, Metric] = {m.column: m for m in METRICS}
OBJECTIVES: tuple[str, ...] = tuple(m.name for m in METRICS if m.objective)
SEARCHED: tuple[Metric, ...] = tuple(m for m in METRICS if m.searched)
# Searched figures of the serving workload, and those of the static scenarios.
SERVING: tuple[Metric, ...] = tuple(m for m in SEARCHED if m.serving)
STATIC: tuple[Metric, ...] = tuple(m for m in SEARCHED if not m.serving)
RATIOS: tuple[Metric, ...] = tuple(m for m in METRICS if m.ratio)
COMPARED: tuple[Metric, ...] = tuple(m for m in METRICS if m.compared)
TABLE: tuple[Metric, ...] = tuple(m for m in METRICS if m.table)
FITS_MEMORY = BY_NAME["fits_memory"]
GOODPUT_PER_CHIP, TTFT_P99, TPOT_P99 = (BY_NAME["goodput_per_chip"], BY_NAME["ttft_p99"],
                                        BY_NAME["tpot_p99"])
# Goodput per chip divided by a per-chip design figure: (the quotient, the divisor).
GOODPUT_PER_FIGURE: tuple[tuple[Metric, Metric], ...] = (
    (BY_NAME["goodput_per_mm2"], BY_NAME["area"]), (BY_NAME["goodput_per_w"], BY_NAME["power"]),
    (BY_NAME["goodput_per_usd"], BY_NAME["cost"]))
ENERGY_PER_REQUEST = BY_NAME["energy_per_request"]
# Objectives of a problem that names none.
DEFAULT_OBJECTIVES: tuple[str, ...] = ("throughput_per_chip", "tokens_per_s_per_mm2")
# Integer-valued columns of designs.csv.
INTEGER_COLUMNS: tuple[str, ...] = tuple(m.column for m in SEARCHED if m.fmt == "{:d}")

# The serving simulator's latencies: per request (a column of requests.csv each) and per
# token gap, each summarised by its mean and percentiles.
TTFT, TPOT, E2E = BY_NAME["ttft"], BY_NAME["tpot"], BY_NAME["e2e"]
NORMALIZED_LATENCY, QUEUEING, ITL = (BY_NAME["normalized_latency"], BY_NAME["queueing"],
                                     BY_NAME["itl"])
OUTPUT_THROUGHPUT, REQUEST_THROUGHPUT, SLO_ATTAINMENT = (
    BY_NAME["output_throughput"], BY_NAME["request_throughput"], BY_NAME["slo_attainment"])
PER_REQUEST: tuple[Metric, ...] = tuple(m for m in METRICS if m.distribution == "request")
LATENCIES: tuple[Metric, ...] = tuple(m for m in METRICS if m.distribution is not None)
# Statistics of a latency distribution: label -> percentile (None: the mean).
LATENCY_STATS: tuple[tuple[str, float | None], ...] = (
    ("mean", None), ("p50", 50.0), ("p90", 90.0), ("p99", 99.0))


def summary_key(m: Metric, stat: str) -> str:
    """Key of a statistic of a latency in a serving summary: the name, the statistic and
    the column's unit suffix (``ttft_p99_s``)."""
    return f"{m.name}_{stat}{m.column.removeprefix(m.name)}"


def per_chip(m: Metric) -> str:
    """Key of a serving throughput divided by the chips of the run
    (``output_throughput_tok_per_s_per_chip``)."""
    return f"{m.column}_per_chip"


def label(m: Metric) -> str:
    """Upper-case short label of a serving latency (``TTFT``, ``E2E``)."""
    return (m.short or m.name).upper()


def metric(key: str) -> Metric:
    """The metric of a name (``tpot``) or a column (``tpot_s``); KeyError when unknown."""
    found = BY_NAME.get(key) or BY_COLUMN.get(key)
    if found is None:
        raise KeyError(key)
    return found


def known(columns: Iterable[str]) -> list[Metric]:
    """Metrics whose column is among ``columns``, in registry order."""
    cols = set(columns)
    return [m for m in METRICS if m.column in cols]


__all__ = [
    "BY_COLUMN",
    "BY_NAME",
    "COMPARED",
    "DEFAULT_OBJECTIVES",
    "E2E",
    "FITS_MEMORY",
    "GOODPUT_PER_CHIP",
    "GOODPUT_PER_FIGURE",
    "INTEGER_COLUMNS",
    "ITL",
    "LATENCIES",
    "LATENCY_STATS",
    "METRICS",
    "NORMALIZED_LATENCY",
    "OBJECTIVES",
    "OUTPUT_THROUGHPUT",
    "PER_REQUEST",
    "QUEUEING",
    "RATIOS",
    "REQUEST_THROUGHPUT",
    "SEARCHED",
    "SERVING",
    "SLO_ATTAINMENT",
    "STATIC",
    "TABLE",
    "TPOT",
    "TPOT_P99",
    "TTFT",
    "TTFT_P99",
    "Combine",
    "Metric",
    "known",
    "label",
    "metric",
    "per_chip",
    "summary_key",
]
