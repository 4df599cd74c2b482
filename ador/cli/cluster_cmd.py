"""`ador cluster`: a serving workload on a cluster under a serving policy."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ador.cli.common import console


def cluster_cmd(
    workload: Annotated[str, typer.Option(
        "--workload", "-w", help="serving workload: a name in workloads/serving or a YAML "
                                 "path")],
    cluster: Annotated[str | None, typer.Option(
        "--cluster", "-c", help="cluster YAML: a name in workloads/clusters or a path "
                                "(default: the workload's 'cluster' block)")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="model name or YAML path")
                     ] = "llama3-8b",
    policy: Annotated[str | None, typer.Option(
        help="colocated, disaggregated, semi_pd, adrenaline or accellm")] = None,
    router: Annotated[str | None, typer.Option(
        help="round_robin, least_work or kv_aware")] = None,
    offload_ratio: Annotated[float | None, typer.Option(help="Adrenaline: largest share of decode "
                                                             "requests offloaded")] = None,
    executor_share: Annotated[float | None, typer.Option(
        help="Adrenaline: compute share of the attention executor")] = None,
    prefill_share: Annotated[float | None, typer.Option(help="semi-PD: prefill worker's "
                                                             "compute share")] = None,
    decode_share: Annotated[float | None, typer.Option(help="semi-PD: decode worker's "
                                                            "compute share")] = None,
    controller: Annotated[bool | None, typer.Option(
        "--controller/--no-controller", help="semi-PD: SLO-aware share controller")] = None,
    window_requests: Annotated[int | None, typer.Option(
        help="semi-PD: controller decides every N requests (online)")] = None,
    switch_delay: Annotated[str | None, typer.Option(
        help="semi-PD: delay before new shares take effect, with unit, e.g. '100ms'")] = None,
    redundancy: Annotated[float | None, typer.Option(help="AcceLLM: share of requests with "
                                                          "a KV copy")] = None,
    layerwise: Annotated[bool | None, typer.Option(
        "--layerwise/--no-layerwise", help="KV transfer overlapped with the prefill")] = None,
    rate: Annotated[str | None, typer.Option(help="requests per second, e.g. '4/s'")] = None,
    num_requests: Annotated[int | None, typer.Option("--num-requests", "-n", min=1)] = None,
    seed: Annotated[int | None, typer.Option(min=0)] = None,
    ttft_slo: Annotated[str | None, typer.Option(help="TTFT SLO with unit, e.g. '2s'")] = None,
    tpot_slo: Annotated[str | None, typer.Option(help="TPOT SLO with unit, e.g. '100ms'")
                        ] = None,
    goodput: Annotated[bool, typer.Option("--goodput", help="also find the goodput per chip "
                                                            "(bisection over the rate)")
                       ] = False,
    attainment: Annotated[float, typer.Option(help="share of requests meeting both SLOs "
                                                   "for goodput")] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Simulate a serving workload on a cluster (pools, router, KV links) under a serving
    policy: colocated, PD disaggregation, semi-PD, Adrenaline or AcceLLM."""
    from ador.errors import SpecError
    from ador.serve.cluster_run import run_cluster
    from ador.spec.serving import parse_rate

    r = None
    if rate is not None:
        try:
            r = parse_rate(rate)
        except ValueError as err:
            raise SpecError(str(err), field="--rate", value=rate) from None
    options = {"policy": policy, "router": router, "offload_ratio": offload_ratio,
               "executor_share": executor_share, "prefill_share": prefill_share,
               "decode_share": decode_share, "controller": controller,
               "window_requests": window_requests, "switch_delay": switch_delay,
               "redundancy": redundancy, "layerwise": layerwise}
    out = run_cluster(cluster=cluster, workload=workload, model=model, options=options,
                      overrides={"rate": r, "num_requests": num_requests, "seed": seed},
                      ttft_slo=ttft_slo, tpot_slo=tpot_slo, goodput=goodput,
                      attainment=attainment)
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2, allow_nan=False) + "\n")
        return
    from ador.report.cluster_tables import cluster_view

    console.print(cluster_view(out))
