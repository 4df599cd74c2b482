"""One disaggregated or semi-PD design's ``ador cluster`` run: its cluster YAML and the arguments of
:func:`ador.serve.cluster_run.run_cluster` (what ``ador cluster`` runs), with the command
line that passes the same values, so that a confirmed figure is reproduced exactly by
that command (as :class:`ador.search.serving.ServeArgs` does for a colocated design)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ador.search.serving import ServingSetup, seconds_text, shell_word
from ador.spec.cluster import ClusterSpec, LinkSpec, PoolSpec, SemiPdSpec
from ador.spec.problem import POOL_HARDWARE_DESIGN, ServingDeployment
from ador.spec.scheduler import SchedulerConfig
from ador.spec.serving import parse_rate

# options of ``ador cluster`` the search leaves at their defaults (the cluster YAML holds
# the deployment): passed as None, as the command line passes options it is not given
CLUSTER_OPTIONS = ("policy", "router", "offload_ratio", "executor_share", "prefill_share",
                   "decode_share", "controller", "window_requests", "switch_delay",
                   "redundancy", "layerwise")

# how a cluster YAML's header names each policy's deployment
DEPLOYMENT_TITLES = {"disaggregated": "Disaggregated", "semi_pd": "Semi-PD"}


def cluster_spec(*, hardware: str, tp: int, deployment: ServingDeployment,
                 scheduler: SchedulerConfig) -> ClusterSpec:
    """The cluster of a design (its YAML at ``hardware``): disaggregated, both pools run
    the design's scheduler and the KV moves over the prefill chips' P2P links (node);
    semi-PD, one instance of the design with the deployment's worker shares (semi-PD's
    contention rule on, as ``SemiPdSpec``'s default)."""

    def pool(name: str, count: int) -> PoolSpec:
        return PoolSpec(hardware=hardware if name == POOL_HARDWARE_DESIGN else name, tp=tp,
                        count=count, scheduler=scheduler)

    if deployment.policy == "semi_pd":
        return ClusterSpec(policy="semi_pd", pool=pool(POOL_HARDWARE_DESIGN, 1),
                           semi_pd=SemiPdSpec(prefill_share=deployment.prefill_share,
                                              decode_share=deployment.decode_share))
    return ClusterSpec(policy="disaggregated",
                       prefill=pool(deployment.prefill_hardware, deployment.prefill_instances),
                       decode=pool(deployment.decode_hardware, deployment.decode_instances),
                       link=LinkSpec(placement="node"))


@dataclass(frozen=True)
class ClusterArgs:
    """A design's ``ador cluster`` run: ``cluster`` is its cluster YAML's path."""

    cluster: str
    setup: ServingSetup
    tp: int

    def kwargs(self) -> dict[str, Any]:
        s = self.setup
        rate = parse_rate(self._rate()) if s.rate_given else None
        return {"cluster": self.cluster, "workload": s.workload_ref, "model": s.model_name,
                "options": dict.fromkeys(CLUSTER_OPTIONS),
                "overrides": {"rate": rate, "num_requests": self._num_requests(),
                              "seed": None},
                "ttft_slo": seconds_text(s.ttft_slo_s), "tpot_slo": seconds_text(s.tpot_slo_s),
                "goodput": True, "attainment": s.attainment}

    def _rate(self) -> str:
        return repr(self.setup.rate_per_s) + "/s"

    def _num_requests(self) -> int:
        s = self.setup
        return int(s.workload.num_requests or s.requests.n)

    def command(self) -> str:
        kw = self.kwargs()
        parts = ["ador cluster", "--workload", shell_word(kw["workload"]), "--cluster",
                 shell_word(kw["cluster"]), "--model", kw["model"], "--num-requests",
                 str(self._num_requests())]
        if self.setup.rate_given:
            parts += ["--rate", self._rate()]
        parts += ["--ttft-slo", shell_word(kw["ttft_slo"]),
                  "--tpot-slo", shell_word(kw["tpot_slo"]), "--goodput",
                  "--attainment", repr(kw["attainment"]), "--json"]
        return " ".join(parts)


__all__ = ["DEPLOYMENT_TITLES", "ClusterArgs", "cluster_spec"]
