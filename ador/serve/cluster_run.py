"""What ``ador cluster`` does: a workload through a cluster and serving policy, with
command-line overrides of the policy's parameters, optionally its goodput per chip."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ador.errors import SpecError
from ador.metrics import TPOT, TTFT
from ador.serve.goodput import goodput_of
from ador.serve.policies import simulate_cluster
from ador.serve.results import _finite
from ador.spec.cluster import ClusterSpec

# command-line option -> (block of ClusterSpec, field)
OPTIONS = {
    "policy": (None, "policy"), "router": (None, "router"),
    "offload_ratio": ("adrenaline", "offload_ratio"),
    "executor_share": ("adrenaline", "executor_share"),
    "prefill_share": ("semi_pd", "prefill_share"), "decode_share": ("semi_pd", "decode_share"),
    "controller": ("semi_pd", "controller"),
    "window_requests": ("semi_pd", "window_requests"),
    "switch_delay": ("semi_pd", "switch_delay_s"), "redundancy": ("accellm", "redundancy"),
    "layerwise": ("link", "layerwise"), "placement": ("link", "placement"),
}


def apply_options(base: ClusterSpec, options: Mapping[str, Any]) -> ClusterSpec:
    """``base`` with the given (not None) options set; errors name the option."""
    from ador.spec.io import to_data, validate_data

    data = to_data(base)
    given = {k: v for k, v in options.items() if v is not None}
    for key, value in given.items():
        block, field = OPTIONS[key]
        if block is None:
            data[field] = value
        else:
            data[block] = {**data[block], field: value}
    try:
        return validate_data(ClusterSpec, data, file="command line")
    except SpecError as err:
        name = next((k for k, (b, f) in OPTIONS.items() if k in given and (
            err.field == f or (err.field or "").endswith("." + f))), None)
        if name is None:
            raise
        raise SpecError(err.rule, field="--" + name.replace("_", "-"), value=given[name]
                        ) from None


def run_cluster(*, cluster: str | None, workload: str | Path, model: str,
                options: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                ttft_slo: str | None = None, tpot_slo: str | None = None,
                goodput: bool = False, attainment: float = 0.9) -> dict:
    """Simulate ``workload`` on ``cluster`` (a YAML name/path; default: the workload's
    ``cluster`` block) and return a strict-JSON dict of the summary and limits."""
    from ador.serve.runner import resolve_slo
    from ador.serve.workloads import load_workload, requests_from_spec
    from ador.spec.io import load_cluster, load_model

    start = time.perf_counter()
    spec, base_dir = load_workload(workload)
    if cluster is not None:
        base = load_cluster(cluster)
    elif spec.cluster is not None:
        base = spec.cluster
    else:
        raise SpecError("no cluster: give --cluster or a 'cluster' block in the workload",
                        field="--cluster")
    cl = apply_options(base, options)
    m = load_model(model)
    requests = requests_from_spec(spec, base_dir=base_dir, overrides=overrides)
    slo = resolve_slo(spec, ttft=ttft_slo, tpot=tpot_slo)
    kw = {} if slo is None else {"ttft_slo_s": slo[TTFT.column],
                                    "tpot_slo_s": slo[TPOT.column]}
    if goodput and slo is None:
        raise SpecError("goodput needs both SLOs", field="--ttft-slo")
    if not 0 < attainment <= 1:
        raise SpecError("attainment must be in (0, 1]", field="--attainment", value=attainment)
    res = simulate_cluster(cluster=cl, model=m, requests=requests, **kw)
    out = {"policy": cl.policy, "router": cl.router, "model": m.name,
           "workload": spec.name, "num_requests": requests.n, "chips": res.chips,
           "cluster": cl.model_dump(mode="json"),
           "summary": {k: _finite(v) for k, v in res.summary.items()},
           "limits": {k: _finite(v) for k, v in res.limits.items()},
           "slo": slo}
    if goodput:
        g = goodput_of(lambda r: simulate_cluster(cluster=cl, model=m, requests=r, **kw),
                       requests=requests, ttft_slo_s=kw["ttft_slo_s"],
                       tpot_slo_s=kw["tpot_slo_s"], attainment=attainment)
        out["goodput"] = {k: _finite(v) if not isinstance(v, list) else v
                          for k, v in g.to_json_dict().items()}
    out["elapsed_s"] = time.perf_counter() - start
    return out
