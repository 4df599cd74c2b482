"""Data steps of the serving report (the figure steps only draw what these return)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError
from ador.report import serving_data as data
from ador.report import serving_figures as figs


def test_cdf_is_monotone_ends_at_one_and_drops_non_finite():
    df = data.cdf_data([3.0, 1.0, np.nan, 2.0, np.inf])
    assert list(df["x"]) == [1.0, 2.0, 3.0]
    assert list(df["p"]) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_cdf_is_thinned_but_keeps_both_ends():
    x = np.random.default_rng(0).exponential(size=50_000)
    df = data.cdf_data(x, max_points=500)
    assert len(df) <= 500
    assert df["x"].iloc[0] == x.min() and df["x"].iloc[-1] == x.max()
    assert df["p"].iloc[-1] == 1.0 and np.all(np.diff(df["p"]) > 0)
    # the thinned curve still passes through the median
    i = np.searchsorted(df["p"], 0.5)
    assert df["x"].iloc[i] == pytest.approx(np.median(x), rel=0.02)


def series(n: int) -> pd.DataFrame:
    t = np.cumsum(np.full(n, 0.01))
    return pd.DataFrame({"t_s": t, "batch_size": np.arange(n) % 7,
                         "prefill_tokens": np.zeros(n), "decode_tokens": np.arange(n) % 7,
                         "kv_used_tokens": np.arange(n) % 100, "kv_capacity_tokens": 100,
                         "busy_s": np.full(n, 0.01)})


def test_timeseries_small_runs_are_kept_whole():
    ts = series(100)
    out = data.timeseries_data(ts)
    assert len(out) == 100
    np.testing.assert_allclose(out["kv_occupancy"], ts["kv_used_tokens"] / 100)


def test_timeseries_binning_keeps_the_time_weighted_means():
    ts = series(10_007)
    out = data.timeseries_data(ts, max_points=300)
    assert len(out) <= 300
    # equal busy time per iteration, so bin means average back to the overall mean
    counts = np.histogram(ts["t_s"], bins=np.linspace(ts["t_s"].min(), ts["t_s"].max(),
                                                      301))[0]
    counts = counts[counts > 0]
    assert np.average(out["batch_size"], weights=counts) == pytest.approx(
        ts["batch_size"].mean())
    assert out["kv_occupancy"].between(0, 1).all()


def test_rate_curves_need_a_sweep_and_sort_by_rate():
    with pytest.raises(AdorError, match="rate sweep"):
        data.rate_curves(pd.DataFrame())
    rates = pd.DataFrame({"rate_per_s": [2.0, 1.0], "slo_attainment": [0.5, 1.0],
                          "ttft_p50_s": [0.2, 0.1], "ttft_p99_s": [0.9, 0.3],
                          "tpot_p50_s": [0.02, 0.01]})
    rc = data.rate_curves(rates)
    assert list(rc["attainment"]["rate_per_s"]) == [1.0, 2.0]
    ttft99 = rc["latency"].query("metric == 'ttft' and stat == 'p99'")
    assert list(ttft99["value_s"]) == [0.3, 0.9]
    assert len(figs.rate_curves(rc).data) == 4  # three latency lines and the attainment


def test_figures_have_points():
    cdfs = {"ttft": data.cdf_data([0.1, 0.2]), "tbt": pd.DataFrame({"x": [0.01, 0.02],
                                                                     "p": [0.5, 1.0]})}
    fig = figs.latency_cdfs(cdfs)
    assert [len(t.x) for t in fig.data] == [2, 2]
    assert len(figs.timeseries(data.timeseries_data(series(20))).data) == 2


def test_several_instances_add_their_batches_and_average_their_kv():
    a, b = series(400), series(400)
    b["t_s"] += 0.005  # the second instance's iterations end half a step later
    b["batch_size"] = 3
    b["kv_used_tokens"] = 50
    a["batch_size"] = 2
    a["kv_used_tokens"] = 10
    both = pd.concat([a.assign(instance=0), b.assign(instance=1)]).sort_values("t_s")
    out = data.timeseries_data(both, max_points=100)
    assert len(out) <= 100
    np.testing.assert_allclose(out["batch_size"], 5.0)
    np.testing.assert_allclose(out["kv_occupancy"], 0.3)
