"""Data steps of the policy comparison report on hand-made frames, and its figure steps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError
from ador.report import policy_data as data
from ador.report import policy_figures as figs

GOODPUT = pd.DataFrame({
    "policy": ["colo", "PD", "colo", "PD", "PD"],
    "hardware": ["A100", "A100", "H100", "H100", "pair"],
    "goodput_per_chip_per_s": [2.0, 1.0, 6.0, 4.0, 3.0]})


def _rates() -> pd.DataFrame:
    """Two cells (colo on A100: a shared pool; PD on A100: two pools), three rates each."""
    rows = []
    for frac, att in ((0.5, 1.0), (1.0, 0.92), (1.2, 0.6)):
        rows.append({"policy": "colo", "hardware": "A100", "fraction": frac,
                     "rate_per_chip": 2.0 * frac, "slo_attainment": att,
                     "ttft_p50_s": 0.1 * frac, "ttft_p90_s": 0.2 * frac,
                     "ttft_p99_s": 0.3 * frac, "tpot_p50_s": 0.01, "tpot_p90_s": 0.02,
                     "tpot_p99_s": 0.03, "busy_fraction": 0.7 * frac,
                     "kv_occupancy_max": 0.4 * frac})
        rows.append({"policy": "PD", "hardware": "A100", "fraction": frac,
                     "rate_per_chip": 1.0 * frac, "slo_attainment": att,
                     "ttft_p50_s": 0.1, "ttft_p90_s": 0.2, "ttft_p99_s": 0.3,
                     "tpot_p50_s": 0.01, "tpot_p90_s": 0.02, "tpot_p99_s": 0.03,
                     "prefill_busy_fraction": 0.3 * frac, "decode_busy_fraction": 0.8 * frac,
                     "prefill_kv_peak_fraction": 0.1 * frac,
                     "decode_kv_peak_fraction": 0.5 * frac, "kv_occupancy_max": 0.5 * frac})
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)  # unsorted on purpose


def test_goodput_table_ratios_and_best():
    t = data.goodput_table(GOODPUT, hardware=["A100", "H100", "pair"])
    per = t["per_chip"]
    assert list(per.index) == ["PD", "colo"] and list(per.columns) == ["A100", "H100", "pair"]
    assert t["baseline"] == "A100"
    assert t["relative"].at["colo", "H100"] == pytest.approx(3.0)
    assert t["relative"].at["PD", "pair"] == pytest.approx(3.0)
    assert math.isnan(per.at["colo", "pair"])  # colocated does not run on a pair
    assert dict(t["best"]) == {"PD": "H100", "colo": "H100"}
    ordered = data.goodput_table(GOODPUT, policies=["colo", "PD"])
    assert list(ordered["per_chip"].index) == ["colo", "PD"]


def test_goodput_bars_follow_the_hardware_order():
    bars = data.goodput_bars(GOODPUT, ["H100", "pair", "A100"])
    assert list(bars["hardware"]) == ["H100", "H100", "pair", "A100", "A100"]
    assert bars["goodput_per_chip_per_s"].sum() == pytest.approx(16.0)


def test_attainment_is_sorted_by_rate():
    a = data.attainment_curves(_rates())
    for _, part in a.groupby(["policy", "hardware"]):
        assert part["rate_per_chip"].is_monotonic_increasing
    assert len(a) == 6 and list(dict.fromkeys(a["policy"])) == ["PD", "colo"]


def test_at_goodput_picks_fraction_one():
    at = data.at_goodput(_rates())
    assert len(at) == 2 and (at["fraction"] == 1.0).all()
    no_one = _rates()[lambda f: f["fraction"] != 1.0]
    assert set(data.at_goodput(no_one)["fraction"]) == {1.2}  # |1.2 - 1| < |0.5 - 1|


def test_latency_percentiles_at_the_goodput():
    lat = data.latency_percentiles(_rates())
    row = lat[(lat["policy"] == "colo") & (lat["metric"] == "ttft")].iloc[0]
    assert (row["p50"], row["p90"], row["p99"]) == pytest.approx((0.1, 0.2, 0.3))
    assert (lat["p50"] <= lat["p90"]).all() and (lat["p90"] <= lat["p99"]).all()
    assert set(lat["metric"]) == {"ttft", "tpot"}


def test_pools_split_or_shared():
    busy = data.pool_utilisation(_rates())
    got = {(r.policy, r.pool): r.busy_fraction for r in busy.itertuples()}
    assert got == pytest.approx({("colo", "shared"): 0.7, ("PD", "prefill"): 0.3,
                                 ("PD", "decode"): 0.8})
    kv = data.kv_occupancy(_rates())
    got = {(r.policy, r.pool): r.kv_peak_fraction for r in kv.itertuples()}
    # PD's kv_occupancy_max (its total) is not shown as a shared pool
    assert got == pytest.approx({("colo", "shared"): 0.4, ("PD", "prefill"): 0.1,
                                 ("PD", "decode"): 0.5})


@pytest.mark.parametrize("step", [data.attainment_curves, data.latency_percentiles,
                                  data.pool_utilisation, data.kv_occupancy])
def test_empty_rates_are_one_error(step):
    with pytest.raises(AdorError):
        step(pd.DataFrame())


def test_goodput_without_columns_is_one_error():
    with pytest.raises(AdorError, match=r"goodput\.csv"):
        data.goodput_table(pd.DataFrame({"policy": ["a"]}))


def test_figures_draw_every_point():
    r = _rates()
    assert sum(len(t.y) for t in figs.goodput_bars(data.goodput_bars(GOODPUT)).data) == 5
    fig = figs.attainment_curves(data.attainment_curves(r), target=0.9)
    assert sum(len(t.x) for t in fig.data) == 6
    lat = figs.latency_percentiles(data.latency_percentiles(r), slo_s={"ttft": 0.5})
    assert sum(len(t.y) for t in lat.data) == 4
    whisker = np.asarray(lat.data[0].error_y.array)
    assert (whisker >= 0).all()
    pools = figs.pool_bars(data.pool_utilisation(r), "busy_fraction", title="t", axis="busy")
    assert sum(len(t.y) for t in pools.data) == 3
