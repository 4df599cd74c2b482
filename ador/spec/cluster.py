"""Cluster and serving-policy settings: pools of instances, router, KV link, and the
parameters of each policy (PD disaggregation, semi-PD, Adrenaline attention offload)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ador.spec.base import Spec
from ador.spec.quantities import BytesPerS, Fraction, PositiveInt, Seconds
from ador.spec.scheduler import SchedulerConfig

POLICY_NAMES = ("colocated", "disaggregated", "semi_pd", "adrenaline", "accellm")
ROUTER_NAMES = ("round_robin", "least_work", "kv_aware")
Share = Annotated[float, Field(ge=0, le=1)]


class PoolSpec(Spec):
    """``count`` identical instances of ``hardware`` (built-in name or YAML path), TP ``tp``."""

    hardware: str = "a100-sxm-80gb"
    tp: PositiveInt = 1
    count: PositiveInt = 1
    scheduler: SchedulerConfig = SchedulerConfig()


class LinkSpec(Spec):
    """KV path between prefill and decode instances: ``node`` uses the prefill chips' P2P
    links, ``network`` one NIC per chip (200 Gb/s HDR InfiniBand by default)."""

    placement: Literal["node", "network"] = "node"
    network_bytes_per_s_per_chip: BytesPerS = 25e9
    network_latency_s: Seconds = 5e-6
    layerwise: bool = False  # transfer layer by layer, overlapped with the prefill


class SemiPdSpec(Spec):
    """Shares of the compute units of the prefill and decode workers (semi-PD's defaults:
    prefill 80%, decode 100%); ``contention``: when the shares sum above 1 the prefill gets
    what the decode leaves (``ador.serve.policies.semi_pd_shares``)."""

    prefill_share: Fraction = 0.8
    decode_share: Share = 1.0
    contention: bool = True
    # SLO-aware partitioning (Algorithm 1): move a share by step_share while one SLO's
    # attainment misses, at most max_steps times
    controller: bool = False
    step_share: Fraction = 0.1
    max_steps: PositiveInt = 6
    attainment: Fraction = 0.9
    # online form: decide every window_requests requests (by arrival) from that window's
    # latencies, the new shares taking effect switch_delay_s after the window's last first
    # token; None: the controller moves shares between whole runs (steady state)
    window_requests: PositiveInt | None = None
    switch_delay_s: Seconds = 0.0  # semi-PD reports the (asynchronous) switch as negligible


class AdrenalineSpec(Spec):
    """Attention offload: ``offload_ratio`` of decode requests keep KV and attention on a
    prefill instance, whose executor gets ``executor_share`` of its compute units (None:
    the controller picks the largest share that still meets the TTFT SLO)."""

    offload_ratio: Share = 0.7
    executor_share: Share | None = 0.2
    # None: the prefill's slowdown from the roofline of its reduced compute and bandwidth
    # shares over each iteration's compute / memory time (ador.serve.stepviews.
    # ExecutorSharedStep: sub-linear for compute-bound prefills); a number overrides it:
    # prefill time x 1 / (1 - executor_share) ** exponent (1 = linear in the SMs taken)
    prefill_slowdown_exponent: Annotated[float, Field(gt=0, le=1)] | None = None
    apply_offload_bound: bool = True


class AccellmSpec(Spec):
    """Paired instances with alternating roles: ``redundancy`` of the requests get their
    KV duplicated layer by layer to the partner during prefill (0: static disaggregation
    with dynamic roles; 1: every request has two copies) and decode on the less loaded
    holder; roles are dynamic per chip, so the share of time in the prefill role is
    measured, not set (``prefill_time_share`` is refused);
    ``evict_under_pressure``: copies never block admission (the redundant copy is evicted
    first), else copies take KV room (capacity / (1 + redundancy))."""

    redundancy: Share = 1.0
    prefill_time_share: Fraction | None = None  # refused: roles are dynamic
    evict_under_pressure: bool = True

    @field_validator("prefill_time_share")
    @classmethod
    def _roles_dynamic(cls, v: float | None) -> float | None:
        if v is not None:
            raise ValueError("roles are dynamic now: the prefill time share is measured "
                             "(limits prefill_time_share), not set; remove the field")
        return v


class ClusterSpec(Spec):
    """A serving cluster: ``colocated`` uses ``pool``; ``disaggregated`` and ``adrenaline``
    ``prefill`` and ``decode`` pools; ``semi_pd`` and ``accellm`` use ``pool``, each instance
    running both phases (accellm: instances 2k and 2k+1 are a pair)."""

    policy: Literal["colocated", "disaggregated", "semi_pd", "adrenaline",
                    "accellm"] = "colocated"
    router: Literal["round_robin", "least_work", "kv_aware"] = "round_robin"
    pool: PoolSpec | None = None
    # colocated only: further pools of other hardware or TP behind the same router
    more_pools: tuple[PoolSpec, ...] = ()
    prefill: PoolSpec | None = None
    decode: PoolSpec | None = None
    link: LinkSpec = LinkSpec()
    semi_pd: SemiPdSpec = SemiPdSpec()
    adrenaline: AdrenalineSpec = AdrenalineSpec()
    accellm: AccellmSpec = AccellmSpec()

    @model_validator(mode="after")
    def _pools(self) -> ClusterSpec:
        two = self.policy in ("disaggregated", "adrenaline")
        if two and (self.prefill is None or self.decode is None):
            raise ValueError(f"policy {self.policy} needs prefill and decode pools")
        if not two and self.pool is None:
            raise ValueError(f"policy {self.policy} needs a pool")
        if self.more_pools and self.policy != "colocated":
            raise ValueError("more_pools is for policy colocated (a heterogeneous pool)")
        if self.policy == "accellm" and self.pool is not None and self.pool.count % 2:
            raise ValueError("policy accellm needs an even pool count (pairs)")
        return self

    def _required(self, role: str) -> PoolSpec:
        pool = getattr(self, role)
        if pool is None:
            raise ValueError(f"policy {self.policy} has no {role} pool")
        return pool

    @property
    def main_pool(self) -> PoolSpec:
        """``pool``, which the validator requires for colocated, semi_pd and accellm."""
        return self._required("pool")

    @property
    def prefill_pool(self) -> PoolSpec:
        """``prefill``, which the validator requires for disaggregated and adrenaline."""
        return self._required("prefill")

    @property
    def decode_pool(self) -> PoolSpec:
        """``decode``, which the validator requires for disaggregated and adrenaline."""
        return self._required("decode")
