"""Frozen results of a serving simulation, and their JSON form.

``ServingResult.summary`` maps names to floats in SI units (seconds, tokens/s, requests/s,
fractions); a name is absent when it has no value (e.g. TPOT when every output is one token):

- ``{ttft,tpot,itl,e2e,normalized_latency,queueing}_{mean,p50,p90,p99}_s``: time to first
  token, time per output token ((last - first token) / (output - 1)), inter-token gaps,
  end-to-end latency, E2E / output tokens, queueing (first scheduled - arrival);
- ``makespan_s`` (first arrival to last completion), ``output_throughput_tok_per_s``,
  ``total_throughput_tok_per_s`` (prompt + output), ``request_throughput_per_s`` and their
  ``_per_chip`` forms; ``completed``, ``rejected``, ``preemptions``, ``iterations``;
- ``busy_fraction`` (time an instance is running an iteration), ``compute_utilisation``
  (matrix FLOPs over peak), ``hbm_bandwidth_utilisation`` (HBM bytes over peak bandwidth),
  per chip over the makespan; ``kv_occupancy_{mean,max}`` (allocated KV blocks over
  capacity; mean weighted by iteration time), ``batch_size_{mean,max}``;
- ``slo_attainment`` (share of all requests meeting both TTFT and TPOT SLOs; rejected ones
  miss) when SLOs are given; ``stopped_early`` when a goodput search cut the run short.

``to_json_dict()`` gives {"scheduler", "chips", "summary", "limits" (max tokens per
iteration, KV capacity in tokens and blocks, max running requests, instances),
"rejected" {"count", "reasons"}} and, with ``per_request=True``, "requests" (per-request
arrays); non-finite numbers become null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import numpy as np


@dataclass(frozen=True)
class RequestRecords:
    """Per-request arrays (seconds; NaN where a rejected request has no value).
    ``token_times_s[token_offsets[i]:token_offsets[i+1]]`` are request i's token times."""

    arrival_s: np.ndarray
    start_s: np.ndarray  # first scheduled
    first_token_s: np.ndarray
    finish_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    preemptions: np.ndarray
    rejected: np.ndarray  # bool
    token_times_s: np.ndarray
    token_offsets: np.ndarray

    @property
    def n(self) -> int:
        return int(self.arrival_s.shape[0])

    def tokens(self, i: int) -> np.ndarray:
        return self.token_times_s[self.token_offsets[i]:self.token_offsets[i + 1]]


@dataclass(frozen=True)
class TimeSeries:
    """One entry per iteration (``t_s`` is its end)."""

    t_s: np.ndarray
    batch_size: np.ndarray
    prefill_tokens: np.ndarray
    decode_tokens: np.ndarray
    kv_used_tokens: np.ndarray
    kv_capacity_tokens: np.ndarray
    busy_s: np.ndarray
    instance: np.ndarray | None = None  # which instance ran the iteration (0 for one)


@dataclass(frozen=True)
class Rejected:
    count: int
    reasons: Mapping[str, int]


@dataclass(frozen=True)
class ServingResult:
    requests: RequestRecords
    timeseries: TimeSeries
    summary: Mapping[str, float]
    chips: int
    rejected: Rejected
    scheduler: str
    limits: Mapping[str, float]  # the limits the scheduler ran with (max tokens, KV, ...)
    # per-request arrays a policy records beyond the records (Adrenaline: ``offloaded``,
    # ``offload_share_at_admission``, ``offload_kv_tokens_at_admission``,
    # ``decode_instance``, ``decode_admitted_s``); empty for the others
    extras: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))

    def to_json_dict(self, *, per_request: bool = False) -> dict:
        """Strict-JSON dict (non-finite numbers become null)."""
        out = {
            "scheduler": self.scheduler,
            "chips": self.chips,
            "summary": {k: _finite(v) for k, v in self.summary.items()},
            "limits": {k: _finite(v) for k, v in self.limits.items()},
            "rejected": {"count": self.rejected.count, "reasons": dict(self.rejected.reasons)},
        }
        if per_request:
            r = self.requests
            out["requests"] = {f.name: [_finite(x) for x in getattr(r, f.name).tolist()]
                               for f in fields(r) if f.name not in ("token_times_s",
                                                                    "token_offsets")}
        return out


def _finite(x):
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def frozen(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))
