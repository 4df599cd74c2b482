"""Which hardware each serving policy favours: every policy (colocated, PD disaggregation,
semi-PD, Adrenaline, AcceLLM) on every hardware choice at the same chip count, each one's
DistServe goodput per chip and its latency, pool use and KV occupancy at rates around it.

A hardware choice is one design for every chip (``h100``) or a prefill and a decode design
(``ador-systolic+ador-mactree``): the two-pool policies (PD disaggregation, Adrenaline) put
the first on the prefill pool and the second on the decode pool; the policies that run both
phases on every chip (colocated, semi-PD, AcceLLM) need one design and skip such a pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ador.errors import SpecError
from ador.serve.goodput import goodput_of
from ador.serve.policies import simulate_cluster
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult
from ador.spec.cluster import (
    AccellmSpec,
    AdrenalineSpec,
    ClusterSpec,
    PoolSpec,
    SemiPdSpec,
)
from ador.spec.model import ModelSpec
from ador.spec.scheduler import SchedulerConfig

PAIR_SEPARATOR = "+"
DEFAULT_HARDWARE = ("a100", "h100", "h200", "ador-hetero", "ador-systolic+ador-mactree")
DEFAULT_RATE_FRACTIONS = (0.5, 0.8, 1.0, 1.2)  # of each configuration's goodput


@dataclass(frozen=True)
class HardwareChoice:
    """``label`` names the column; ``prefill`` and ``decode`` are template names or paths
    (equal for a single design)."""

    label: str
    prefill: str
    decode: str

    @property
    def single(self) -> bool:
        return self.prefill == self.decode


def parse_hardware(text: str, *, field_name: str = "--hardware") -> HardwareChoice:
    """``NAME`` (every chip) or ``PREFILL+DECODE``; the names are checked to load."""
    from ador.spec.io import load_hardware

    parts = [p.strip() for p in text.split(PAIR_SEPARATOR)]
    if len(parts) > 2 or not all(parts):
        raise SpecError(f"a hardware choice is NAME or PREFILL{PAIR_SEPARATOR}DECODE",
                        field=field_name, value=text)
    for name in parts:
        try:
            load_hardware(name)
        except SpecError as err:
            raise SpecError(err.rule, file=err.file, field=field_name, value=name) from None
    return HardwareChoice(label=text.strip(), prefill=parts[0], decode=parts[-1])


# ----------------------------------------------------------------------- policies ----
def _half(instances: int) -> int:
    return instances // 2


@dataclass(frozen=True)
class GridPolicy:
    """One policy of the grid: its ClusterSpec with ``n`` instances of ``tp`` chips each on
    (prefill, decode); ``label(n)`` names it."""

    key: str  # ClusterSpec.policy
    label: Callable[[int], str]
    single_only: bool  # runs both phases on every chip: one design
    build: Callable[[str, str, int, int], ClusterSpec]


POLICIES: dict[str, GridPolicy] = {p.key: p for p in (
    GridPolicy("colocated", lambda n: "colocated (Sarathi)", True,
               lambda pre, dec, n, tp: ClusterSpec(router="least_work", pool=PoolSpec(
                   hardware=pre, tp=tp, count=n, scheduler=SchedulerConfig(name="sarathi")))),
    GridPolicy("disaggregated", lambda n: f"PD {_half(n)}P{_half(n)}D", False,
               lambda pre, dec, n, tp: ClusterSpec(
                   policy="disaggregated",
                   prefill=PoolSpec(hardware=pre, tp=tp, count=_half(n)),
                   decode=PoolSpec(hardware=dec, tp=tp, count=_half(n)))),
    GridPolicy("adrenaline", lambda n: f"Adrenaline {_half(n)}P{_half(n)}D", False,
               lambda pre, dec, n, tp: ClusterSpec(
                   policy="adrenaline", prefill=PoolSpec(hardware=pre, tp=tp, count=_half(n)),
                   decode=PoolSpec(hardware=dec, tp=tp, count=_half(n)),
                   adrenaline=AdrenalineSpec(executor_share=None))),
    GridPolicy("semi_pd", lambda n: "semi-PD", True,
               lambda pre, dec, n, tp: ClusterSpec(
                   policy="semi_pd", router="least_work",
                   pool=PoolSpec(hardware=pre, tp=tp, count=n),
                   semi_pd=SemiPdSpec(controller=True))),
    GridPolicy("accellm", lambda n: "AcceLLM pair" if n == 2 else f"AcceLLM {_half(n)} pairs",
               True, lambda pre, dec, n, tp: ClusterSpec(
                   policy="accellm", router="least_work",
                   pool=PoolSpec(hardware=pre, tp=tp, count=n),
                   accellm=AccellmSpec(redundancy=1.0))),
)}


# ------------------------------------------------------------------------- config ----
@dataclass(frozen=True)
class GridConfig:
    """What the grid runs: hardware choices, policies (keys of ``POLICIES``), chips per
    configuration (instances of ``tp`` chips), SLOs (s), the attainment goodput requires
    and the rates (fractions of each goodput) whose latency and pool figures are kept."""

    hardware: tuple[HardwareChoice, ...]
    policies: tuple[str, ...] = tuple(POLICIES)
    chips: int = 2
    tp: int = 1  # tensor-parallel degree of every instance
    ttft_slo_s: float = 0.5
    tpot_slo_s: float = 0.05
    attainment: float = 0.9
    rate_fractions: tuple[float, ...] = DEFAULT_RATE_FRACTIONS

    def __post_init__(self) -> None:
        checks = (
            ("hardware", bool(self.hardware), "at least one hardware choice", self.hardware),
            ("policies", bool(self.policies), "at least one policy", self.policies),
            ("tp", self.tp >= 1, "must be >= 1", self.tp),
            ("chips", self.chips >= 2 * self.tp and self.chips % max(2 * self.tp, 1) == 0,
             f"a multiple of 2 x tp = {2 * self.tp} (two-pool policies split the instances "
             "half and half)", self.chips),
            ("ttft_slo_s", self.ttft_slo_s > 0, "must be > 0 s", self.ttft_slo_s),
            ("tpot_slo_s", self.tpot_slo_s > 0, "must be > 0 s", self.tpot_slo_s),
            ("attainment", 0 < self.attainment <= 1, "must be in (0, 1]", self.attainment),
            ("rate_fractions", all(f > 0 for f in self.rate_fractions),
             "every fraction of the goodput must be > 0", self.rate_fractions))
        for name, ok, rule, value in checks:
            if not ok:
                raise SpecError(rule, field=name, value=value)
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown:
            raise SpecError(f"unknown policy; choose from {', '.join(POLICIES)}",
                            field="policies", value=unknown[0])
        labels = [h.label for h in self.hardware]
        if len(set(labels)) != len(labels):
            raise SpecError("each hardware choice once", field="hardware", value=labels)
        if not self.cells():
            raise SpecError("no policy runs on these hardware choices (colocated, semi_pd and "
                            "accellm need one design, not a PREFILL+DECODE pair)",
                            field="policies", value=self.policies)

    @property
    def instances(self) -> int:
        return self.chips // self.tp

    def cells(self) -> list[tuple[GridPolicy, HardwareChoice]]:
        """(policy, hardware) pairs that run, hardware-major in the given orders."""
        return [(POLICIES[p], h) for h in self.hardware for p in self.policies
                if h.single or not POLICIES[p].single_only]

    def to_json_dict(self) -> dict:
        return {"hardware": [h.__dict__ for h in self.hardware], "policies": list(self.policies),
                "chips": self.chips, "tp": self.tp, "ttft_slo_s": self.ttft_slo_s,
                "tpot_slo_s": self.tpot_slo_s, "attainment": self.attainment,
                "rate_fractions": list(self.rate_fractions)}


# ------------------------------------------------------------------------ results ----
@dataclass(frozen=True)
class GoodputPoint:
    policy: str  # label, e.g. "PD 1P1D"
    policy_key: str
    hardware: str  # the choice's label
    prefill_hardware: str
    decode_hardware: str
    chips: int
    goodput_per_s: float
    goodput_per_chip_per_s: float
    simulations: int


@dataclass(frozen=True)
class RatePoint:
    policy: str
    policy_key: str
    hardware: str
    fraction: float  # of the goodput
    rate_per_s: float
    rate_per_chip: float
    summary: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyGrid:
    config: GridConfig
    model: str
    num_requests: int
    goodput: tuple[GoodputPoint, ...]
    rates: tuple[RatePoint, ...]
    clusters: tuple[tuple[str, str, ClusterSpec], ...]  # (policy key, hardware, spec)
    elapsed_s: float

    def goodput_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.__dict__ for p in self.goodput],
                            columns=[f.name for f in GoodputPoint.__dataclass_fields__.values()])

    def rates_frame(self) -> pd.DataFrame:
        """One row per simulated rate: the keys of RatePoint, then the run's summary."""
        head = ["policy", "policy_key", "hardware", "fraction", "rate_per_s", "rate_per_chip"]
        rows = [{**{k: getattr(r, k) for k in head}, **r.summary} for r in self.rates]
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=head)


def run_policy_grid(*, config: GridConfig, model: ModelSpec, requests: RequestSet,
                    progress: Callable[[GoodputPoint], None] | None = None) -> PolicyGrid:
    """Goodput per chip of every (policy, hardware) cell of ``config`` on ``requests``
    (their arrival pattern rescaled to each tried rate), and a simulation at each of the
    ``rate_fractions`` of every goodput above zero."""
    start = time.perf_counter()
    ttft, tpot = config.ttft_slo_s, config.tpot_slo_s
    points, rates, clusters = [], [], []
    for policy, hw in config.cells():
        spec = policy.build(hw.prefill, hw.decode, config.instances, config.tp)
        clusters.append((policy.key, hw.label, spec))

        def sim(r: RequestSet, s: ClusterSpec = spec) -> ServingResult:
            return simulate_cluster(cluster=s, model=model, requests=r, ttft_slo_s=ttft,
                                    tpot_slo_s=tpot)

        g = goodput_of(sim, requests=requests, attainment=config.attainment, ttft_slo_s=ttft,
                       tpot_slo_s=tpot)
        chips = g.at_rate.chips if g.at_rate is not None else config.chips
        point = GoodputPoint(policy=policy.label(config.instances), policy_key=policy.key,
                             hardware=hw.label, prefill_hardware=hw.prefill,
                             decode_hardware=hw.decode, chips=chips,
                             goodput_per_s=g.rate_per_s, goodput_per_chip_per_s=g.per_chip,
                             simulations=g.simulations)
        points.append(point)
        if progress is not None:
            progress(point)
        if g.rate_per_s <= 0:
            continue
        for frac in config.rate_fractions:
            rate = frac * g.rate_per_s
            res = g.at_rate if frac == 1.0 and g.at_rate is not None else sim(
                requests.with_rate(rate))
            rates.append(RatePoint(policy=point.policy, policy_key=policy.key,
                                   hardware=hw.label, fraction=frac, rate_per_s=rate,
                                   rate_per_chip=rate / chips, summary=dict(res.summary)))
    return PolicyGrid(config=config, model=model.name, num_requests=requests.n,
                      goodput=tuple(points), rates=tuple(rates), clusters=tuple(clusters),
                      elapsed_s=time.perf_counter() - start)


def grid_config(*, hardware: Sequence[str] | None = None, policies: Sequence[str] | None = None,
                **options) -> GridConfig:
    """A GridConfig from names: hardware as ``NAME`` or ``PREFILL+DECODE`` (default
    ``DEFAULT_HARDWARE``), policies as keys of ``POLICIES`` (default all)."""
    choices = tuple(parse_hardware(h) for h in (hardware or DEFAULT_HARDWARE))
    return GridConfig(hardware=choices, policies=tuple(policies or POLICIES), **options)
