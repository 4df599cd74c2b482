"""A search problem: design space, scenarios, SLOs, budgets, objectives and search settings.

Objectives are chosen by name; maximised ones (throughput, efficiencies) are negated by the
search so that every objective is minimised. Over several scenarios latencies take the
worst scenario and rates the geometric mean; SLOs and memory fit must hold in every one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ador.metrics import BY_NAME, DEFAULT_OBJECTIVES, METRICS, OBJECTIVES
from ador.spec.base import Spec
from ador.spec.precision import Precision
from ador.spec.quantities import BytesPerS, PositiveInt, Seconds, SquareMm, Usd, Watts, WattsPerMm2
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SCHEDULER_NAMES
from ador.spec.serving import Rate, WorkloadSlo


def _objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective; one of {', '.join(OBJECTIVES)}")
    return name


ObjectiveName = Annotated[str, AfterValidator(_objective)]
MAXIMISED = frozenset(name for name in OBJECTIVES if BY_NAME[name].higher_is_better)


PositiveSeconds = Annotated[Seconds, Field(gt=0)]


class ProblemScenario(Spec):
    """One serving scenario of the problem (the same fields as ``ador evaluate``)."""

    name: str = ""
    model: Annotated[str, Field(min_length=1)] = "llama3-8b"
    batch: PositiveInt = 128
    input_len: PositiveInt = 128
    output_len: PositiveInt = 512
    tp: PositiveInt = 1
    pp: PositiveInt = 1
    precision: Precision = Precision.FP16
    kv_precision: Precision | None = None

    @model_validator(mode="after")
    def _valid_scenario(self) -> ProblemScenario:
        self.scenario()  # raises on a bad tp
        return self

    def scenario(self, tp: int | None = None) -> Scenario:
        return Scenario(batch=self.batch, input_len=self.input_len, output_len=self.output_len,
                        tp=self.tp if tp is None else int(tp), pp=self.pp,
                        weight_precision=self.precision, activation_precision=self.precision,
                        kv_precision=self.kv_precision or self.precision)

    @property
    def label(self) -> str:
        return self.name or f"{self.model}-b{self.batch}-i{self.input_len}-o{self.output_len}"


class Slo(Spec):
    """Latency limits: the static scenarios' TTFT and TPOT, and the 99th percentiles of
    the serving simulation (a problem with a ``serving`` workload; at its arrival rate)."""

    ttft_s: PositiveSeconds | None = None
    tpot_s: PositiveSeconds | None = None
    ttft_p99_s: PositiveSeconds | None = None
    tpot_p99_s: PositiveSeconds | None = None


SchedulerName = Literal[SCHEDULER_NAMES]  # type: ignore[valid-type]


class ServingScheduler(Spec):
    """Scheduler settings of a serving search over the workload's own (None: the
    workload's, else ador's default): the settings ``ador serve`` takes as options, so
    that every design's run is one command."""

    name: SchedulerName | None = None  # vllm, sarathi, trtllm, ...
    max_num_seqs: PositiveInt | None = None  # running requests at most
    max_batched_tokens: PositiveInt | None = None  # tokens per iteration (vllm, static)
    chunk_tokens: PositiveInt | None = None  # Sarathi token budget per iteration
    memory_fraction: Annotated[float, Field(gt=0, le=1)] | None = None  # of the free HBM


POOL_HARDWARE_DESIGN = "design"  # a pool of the searched design's chips


class ServingDeployment(Spec):
    """How a design serves the workload: ``colocated`` (one instance running prefill and
    decode), ``disaggregated`` (``prefill_instances`` prefill-only and
    ``decode_instances`` decode-only instances, DistServe-style, the KV moving over the
    prefill chips' P2P links within a node) or ``semi_pd`` (semi-PD, arXiv 2504.19867:
    one instance of the design whose prefill and decode workers hold ``prefill_share`` and
    ``decode_share`` of its compute units, one weight copy, no KV transfer; as
    ``ador.spec.cluster.SemiPdSpec``, with its contention rule). A pool's ``*_hardware`` is
    ``design`` (the searched design) or a hardware template name or YAML path (``h100``).
    Each policy uses only its own fields (``POLICY_FIELDS``); ``serving.<field>`` knobs
    vary them."""

    policy: Literal["colocated", "disaggregated", "semi_pd"] = "colocated"
    prefill_instances: Annotated[int, Field(ge=1, le=64, strict=True)] = 1
    decode_instances: Annotated[int, Field(ge=1, le=64, strict=True)] = 1
    prefill_hardware: Annotated[str, Field(min_length=1)] = POOL_HARDWARE_DESIGN
    decode_hardware: Annotated[str, Field(min_length=1)] = POOL_HARDWARE_DESIGN
    # semi-PD's workers' shares of the compute units (its defaults: prefill 80%, decode
    # 100%, the sum above 1 resolved by ador.serve.policies.semi_pd_shares); a decode
    # share of 0 never decodes, so both lie in (0, 1]
    prefill_share: Annotated[float, Field(gt=0, le=1)] = 0.8
    decode_share: Annotated[float, Field(gt=0, le=1)] = 1.0


# the deployment fields each policy uses (the others are inert for it)
POLICY_FIELDS: dict[str, tuple[str, ...]] = {
    "colocated": (),
    "disaggregated": ("prefill_instances", "decode_instances", "prefill_hardware",
                      "decode_hardware"),
    "semi_pd": ("prefill_share", "decode_share"),
}
# policies the simulator of ``ador cluster`` confirms (colocated: ``ador serve``)
CLUSTER_POLICIES = ("disaggregated", "semi_pd")


class ServingSearch(Spec):
    """The serving workload a search simulates (``ador explore --serving``).

    Each design serves the workload's first ``num_requests`` requests (the first scenario's
    model, precision and tensor-parallel degree, or the ``scenario.tp`` knob) with the
    ``scheduler`` (the workload's, else the defaults; ``serving.*`` knobs of the space
    override its fields). Goodput is the highest arrival rate at which ``attainment`` of the
    requests meet both SLOs (``slo``, else the workload's); P99 latencies are taken at the
    workload's arrival rate (``rate`` replaces it). The search ranks designs by the
    analytical estimate (``ador.serve.estimate``); the discrete-event simulator then
    re-evaluates ``confirm_pareto`` designs of the Pareto set (all when fewer) and
    ``confirm_sample`` others drawn at random, and the run folder keeps both figures.
    """

    workload: Annotated[str, Field(min_length=1)]  # name in workloads/serving or YAML path
    # the workload's first requests each design serves (estimate and simulator alike)
    num_requests: Annotated[int, Field(ge=10, le=100_000, strict=True)] = 1000
    rate: Rate | None = None  # arrival rate of the P99 latencies (None: the workload's)
    slo: WorkloadSlo | None = None  # TTFT and TPOT SLOs of goodput (None: the workload's)
    # share of requests that must meet both SLOs at the goodput rate
    attainment: Annotated[float, Field(gt=0, le=1)] = 0.9
    scheduler: ServingScheduler = ServingScheduler()  # over the workload's scheduler
    # colocated (default), prefill/decode disaggregated or semi-PD; ``serving.*`` knobs vary it
    deployment: ServingDeployment = ServingDeployment()
    # Pareto designs the simulator confirms, spread along the first objective
    confirm_pareto: Annotated[int, Field(ge=0, le=10_000, strict=True)] = 16
    # other feasible designs, drawn at random, the simulator confirms
    confirm_sample: Annotated[int, Field(ge=0, le=10_000, strict=True)] = 8


class Budgets(Spec):
    """Per-chip budgets; ``None`` means unlimited."""

    area_mm2: SquareMm | None = None
    hbm_bandwidth_bytes_per_s: BytesPerS | None = None
    power_w: Watts | None = None
    p2p_bandwidth_bytes_per_s: BytesPerS | None = None
    cost_usd: Usd | None = None
    # Peak power per mm² of die: the heat flux a package and cooler can remove.
    power_density_w_per_mm2: WattsPerMm2 | None = None
    memory_fit: bool = True


class SearchSettings(Spec):
    backend: Literal["pymoo", "optuna", "sweep"] = "pymoo"
    # auto: pymoo NSGA-II for up to two objectives, NSGA-III for more; Optuna NSGA-II.
    algorithm: Literal["auto", "nsga2", "nsga3", "tpe"] = "auto"
    pop_size: Annotated[int, Field(ge=4, le=100_000, strict=True)] = 100
    generations: Annotated[int, Field(ge=1, le=100_000, strict=True)] = 40
    trials: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] | None = None
    seed: Annotated[int, Field(ge=0, strict=True)] = 0
    storage: str | None = None
    # worker processes sharing one Optuna study (None: one process, sampling in memory);
    # with a worker count, a study of the run's name in ``storage`` is joined, not refused;
    # a serving search also spreads the simulator's confirmations over this many processes
    workers: Annotated[int, Field(ge=1, le=256, strict=True)] | None = None

    @property
    def evaluations(self) -> int:
        return self.trials if self.trials is not None else self.pop_size * self.generations


class ProblemSpec(Spec):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = "explore"
    space: Annotated[str, Field(min_length=1)] = "ador-hetero"
    scenarios: Annotated[list[ProblemScenario], Field(
        min_length=1, max_length=16, default_factory=lambda: [ProblemScenario()])]
    slo: Slo = Slo(ttft_s=0.5, tpot_s=0.05)
    # The default budgets are those of one reference GPU, the H100 SXM5, from NVIDIA's
    # datasheet and Hopper whitepaper: die 814 mm², HBM3 3.35 TB/s, board power 700 W. The
    # modelled H100 meets all three on the default scenario (735 mm², 3.35 TB/s, about 670 W
    # average), so "within budget" means "no more than the GPU it is compared with needs".
    # Areas are budgeted at the real die's size, not at the model's 735 mm² for the H100
    # (which leaves out I/O, NVLink PHYs and test structures): a budget is what may be
    # built and is stable across model revisions; pass --area-budget "735 mm2" to hold
    # designs to the modelled H100's area instead.
    budgets: Budgets = Budgets(area_mm2=814.0, hbm_bandwidth_bytes_per_s=3.35e12, power_w=700.0)
    objectives: Annotated[list[ObjectiveName], Field(
        min_length=1, max_length=8,
        default_factory=lambda: list(DEFAULT_OBJECTIVES))]
    baselines: list[str] = Field(default_factory=lambda: ["a100", "h100", "h200"])
    search: SearchSettings = SearchSettings()
    # serving workload of a joint hardware and serving search (None: static scenarios only)
    serving: ServingSearch | None = None

    @field_validator("objectives")
    @classmethod
    def _objectives_unique(cls, objectives: list[str]) -> list[str]:
        if len(set(objectives)) != len(objectives):
            raise ValueError("objectives must not repeat")
        return objectives

    @model_validator(mode="after")
    def _serving_metrics_need_serving(self) -> ProblemSpec:
        if self.serving is not None:
            return self
        for name in self.objectives:
            if BY_NAME[name].serving:
                raise ValueError(f"objective '{name}' is a serving figure: give a serving "
                                 f"workload (serving.workload, or --serving NAME)")
        for key, value in self.slo:
            limited = next((m for m in METRICS if m.limit == f"slo.{key}"), None)
            if value is not None and limited is not None and limited.serving:
                raise ValueError(f"slo.{key} limits a serving figure: give a serving "
                                 f"workload (serving.workload, or --serving NAME)")
        return self

    @field_validator("scenarios")
    @classmethod
    def _scenarios_unique(cls, scenarios: list) -> list:
        labels = [s.label for s in scenarios]
        if len(set(labels)) != len(labels):
            raise ValueError("scenario names must be unique (set 'name' on each)")
        return scenarios
