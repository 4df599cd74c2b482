"""Tables of a cluster run (``ador cluster``)."""

from __future__ import annotations

from rich.table import Table

ROWS = (("TTFT p50 / p90 / p99 (s)", ("ttft_p50_s", "ttft_p90_s", "ttft_p99_s")),
        ("TPOT mean / p90 / p99 (s)", ("tpot_mean_s", "tpot_p90_s", "tpot_p99_s")),
        ("E2E mean / p90 (s)", ("e2e_mean_s", "e2e_p90_s")),
        ("output tokens/s (per chip)", ("output_throughput_tok_per_s",
                                        "output_throughput_tok_per_s_per_chip")),
        ("requests/s (per chip)", ("request_throughput_per_s",
                                   "request_throughput_per_s_per_chip")),
        ("SLO attainment", ("slo_attainment",)),
        ("prefill pool busy / KV peak", ("prefill_busy_fraction", "prefill_kv_peak_fraction")),
        ("decode pool busy / KV peak", ("decode_busy_fraction", "decode_kv_peak_fraction")),
        ("batch size mean / max", ("batch_size_mean", "batch_size_max")),
        ("preemptions / rejected", ("preemptions", "rejected")))


def cluster_view(data: dict) -> Table:
    t = Table(title=f"{data['policy']} ({data['router']}), {data['model']}, "
                    f"{data['workload']}: {data['num_requests']} requests on "
                    f"{data['chips']} chips")
    t.add_column("figure")
    t.add_column("value", justify="right")
    s = data["summary"]
    for label, keys in ROWS:
        vals = [s.get(k) for k in keys]
        if all(v is None for v in vals):
            continue
        t.add_row(label, " / ".join("-" if v is None else f"{v:.4g}" for v in vals))
    for k, v in data["limits"].items():
        t.add_row(k.replace("_", " "), f"{v:.4g}" if isinstance(v, float) else str(v))
    g = data.get("goodput")
    if g:
        t.add_row("goodput req/s (per chip)",
                  f"{g['rate_per_s']:.4g} ({g['rate_per_s_per_chip']:.4g})")
    return t
