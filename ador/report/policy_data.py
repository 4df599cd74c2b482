"""Data steps of the policy comparison report: every number a policy figure or table shows,
decided here from the frames of a policy run folder (``ador.serve.policy_runfolder``);
``ador.report.policy_figures`` only draws them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.metrics import GOODPUT_PER_CHIP, SLO_ATTAINMENT, TPOT, TTFT, summary_key

KEYS = ["policy", "hardware"]
LATENCY_STATS = ("p50", "p90", "p99")
# pool role -> summary key of its busy fraction and of its KV peak: a two-pool policy (or a
# policy with a prefill and a decode worker per chip) reports prefill and decode; a
# colocated pool runs both phases on every chip ("shared")
POOLS = {"prefill": ("prefill_busy_fraction", "prefill_kv_peak_fraction"),
         "decode": ("decode_busy_fraction", "decode_kv_peak_fraction"),
         "shared": ("busy_fraction", "kv_occupancy_max")}


def _need(frame: pd.DataFrame, columns: Sequence[str], file: str) -> None:
    if frame.empty:
        raise AdorError("no rows (a comparison run without rates around the goodput has "
                        "none in rates.csv)", file=file)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AdorError("lacks columns", file=file, field=",".join(missing))


def _ordered(frame: pd.DataFrame, column: str, order: Sequence[str] | None) -> pd.DataFrame:
    """Rows sorted stably by ``order`` of ``column`` (values not in it last)."""
    if not order:
        return frame
    rank = {v: i for i, v in enumerate(order)}
    key = frame[column].map(lambda v: rank.get(v, len(rank)))
    return frame.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")


def goodput_bars(goodput: pd.DataFrame, hardware: Sequence[str] | None = None) -> pd.DataFrame:
    """Goodput per chip (requests/s) of each policy on each hardware: columns policy,
    hardware, goodput_per_chip_per_s, in the grid's hardware order."""
    _need(goodput, [*KEYS, GOODPUT_PER_CHIP.column], "goodput.csv")
    out = goodput[[*KEYS, GOODPUT_PER_CHIP.column]].astype({GOODPUT_PER_CHIP.column: np.float64})
    return _ordered(out, "hardware", hardware).reset_index(drop=True)


def goodput_table(goodput: pd.DataFrame, *, hardware: Sequence[str] | None = None,
                  policies: Sequence[str] | None = None) -> dict:
    """``per_chip``: goodput per chip, a row per policy and a column per hardware (NaN
    where the policy does not run on it); ``relative``: the same over the first hardware
    column; ``best``: the hardware with the highest goodput per chip for each policy.
    Rows follow ``policies`` (default: sorted), columns ``hardware`` (default: first seen)."""
    _need(goodput, [*KEYS, GOODPUT_PER_CHIP.column], "goodput.csv")
    table = goodput.pivot(index="policy", columns="hardware", values=GOODPUT_PER_CHIP.column)
    cols = [h for h in (hardware or dict.fromkeys(goodput["hardware"])) if h in table.columns]
    table = table[cols]
    if policies:
        table = table.loc[[p for p in policies if p in table.index]]
    table.columns.name = "hardware"
    base = table.columns[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = table.div(table[base], axis=0)
    best = table.fillna(-np.inf).idxmax(axis=1)
    return {"per_chip": table, "relative": relative, "baseline": base, "best": best}


def attainment_curves(rates: pd.DataFrame, hardware: Sequence[str] | None = None
                      ) -> pd.DataFrame:
    """SLO attainment against the rate per chip: columns policy, hardware, rate_per_chip,
    slo_attainment, sorted by rate within each (policy, hardware)."""
    _need(rates, [*KEYS, "rate_per_chip", SLO_ATTAINMENT.column], "rates.csv")
    out = rates[[*KEYS, "rate_per_chip", SLO_ATTAINMENT.column]].dropna()
    out = out.sort_values([*KEYS, "rate_per_chip"], kind="stable")
    out = _ordered(out, "policy", list(dict.fromkeys(rates["policy"])))
    return _ordered(out, "hardware", hardware).reset_index(drop=True)


def at_goodput(rates: pd.DataFrame) -> pd.DataFrame:
    """For each (policy, hardware), the simulated rate closest to its goodput (fraction 1)."""
    _need(rates, [*KEYS, "fraction"], "rates.csv")
    dist = (pd.to_numeric(rates["fraction"], errors="coerce") - 1.0).abs()
    idx = dist.groupby([rates["policy"], rates["hardware"]], sort=False).idxmin()
    return rates.loc[idx.dropna().to_numpy()].reset_index(drop=True)


def latency_percentiles(rates: pd.DataFrame, hardware: Sequence[str] | None = None
                        ) -> pd.DataFrame:
    """TTFT and TPOT percentiles at the goodput: columns policy, hardware, metric (ttft,
    tpot), p50, p90, p99 (seconds)."""
    at = at_goodput(rates)
    rows = []
    for m in (TTFT, TPOT):
        cols = {s: summary_key(m, s) for s in LATENCY_STATS}
        if not set(cols.values()) <= set(at.columns):
            continue
        part = at[KEYS].assign(metric=m.name)
        for stat, col in cols.items():
            part[stat] = pd.to_numeric(at[col], errors="coerce")
        rows.append(part)
    if not rows:
        raise AdorError("rates.csv has no TTFT/TPOT percentiles", file="rates.csv",
                        field=summary_key(TTFT, "p90"))
    return _ordered(pd.concat(rows, ignore_index=True), "hardware", hardware
                    ).reset_index(drop=True)


def _pool_values(rates: pd.DataFrame, *, which: int, name: str,
                 hardware: Sequence[str] | None) -> pd.DataFrame:
    at = at_goodput(rates)
    split = pd.Series(False, index=at.index)
    for pool in ("prefill", "decode"):
        if POOLS[pool][which] in at.columns:
            split |= at[POOLS[pool][which]].notna()
    parts = []
    for pool, keys in POOLS.items():
        if keys[which] in at.columns:
            rows = at[~split] if pool == "shared" else at  # a split pool's total is not shown
            parts.append(rows[KEYS].assign(pool=pool, **{name: pd.to_numeric(
                rows[keys[which]], errors="coerce")}))
    out = pd.concat(parts, ignore_index=True).dropna() if parts else pd.DataFrame()
    if out.empty:
        raise AdorError("rates.csv has no pool figures", file="rates.csv",
                        field=",".join(k[which] for k in POOLS.values()))
    return _ordered(out, "hardware", hardware).reset_index(drop=True)


def pool_utilisation(rates: pd.DataFrame, hardware: Sequence[str] | None = None
                     ) -> pd.DataFrame:
    """Busy fraction (0 to 1) of each pool at the goodput: columns policy, hardware,
    pool (prefill, decode, shared), busy_fraction."""
    return _pool_values(rates, which=0, name="busy_fraction", hardware=hardware)


def kv_occupancy(rates: pd.DataFrame, hardware: Sequence[str] | None = None) -> pd.DataFrame:
    """Peak share of the KV cache in use in each pool at the goodput: columns policy,
    hardware, pool, kv_peak_fraction (0 to 1)."""
    return _pool_values(rates, which=1, name="kv_peak_fraction", hardware=hardware)
