"""Serving workloads: length distributions, arrival processes, traces, overrides, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ador.errors import SpecError, UnitError
from ador.serve.workloads import (apply_overrides, gamma_arrivals, load_workload,
                                  poisson_arrivals, read_trace, read_trace_csv,
                                  requests_from_spec, sample_lengths)
from ador.spec.io import load_serving_workload, validate_data
from ador.spec.serving import ServingWorkloadSpec, parse_rate, parse_slo
from tests.conftest import ROOT

SHARED = ROOT.parent / "shared" / "workloads"
CONV = SHARED / "splitwise_conv.csv"
needs_traces = pytest.mark.skipif(not CONV.exists(), reason="../shared/workloads is absent")


def spec(**over) -> ServingWorkloadSpec:
    data = {"name": "t", "lengths": {"kind": "fixed", "input_tokens": 100, "output_tokens": 10},
            "arrivals": {"kind": "poisson", "rate": "5/s"}, "num_requests": 100, "seed": 1}
    data.update(over)
    return validate_data(ServingWorkloadSpec, data, file="test")


def dist(**d):
    return spec(lengths={"kind": "distribution", "input": d, "output": {"kind": "fixed",
                                                                        "tokens": 1}})


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- distributions ----
def test_uniform_lengths_cover_the_range_with_the_right_mean():
    d = dist(kind="uniform", min=10, max=30).lengths.input
    x = sample_lengths(d, 100_000, np.random.default_rng(0))
    assert x.min() == 10 and x.max() == 30 and x.dtype == np.int64
    assert x.mean() == pytest.approx(20, abs=0.1)


@pytest.mark.parametrize("kind", ["normal", "lognormal"])
def test_normal_and_lognormal_match_the_asked_moments(kind):
    d = dist(kind=kind, mean=1000, std=300).lengths.input
    x = sample_lengths(d, 200_000, np.random.default_rng(0))
    assert x.mean() == pytest.approx(1000, rel=0.01)
    assert x.std() == pytest.approx(300, rel=0.02)
    assert x.min() >= 1


def test_truncation_keeps_lengths_within_bounds():
    d = dist(kind="lognormal", mean=300, std=600, min=5, max=1000).lengths.input
    x = sample_lengths(d, 50_000, np.random.default_rng(3))
    assert x.min() >= 5 and x.max() <= 1000


def test_empirical_quantiles_are_reproduced():
    q = [[0, 10], [0.5, 100], [0.9, 1000], [1, 2000]]
    d = dist(kind="empirical", quantiles=q).lengths.input
    x = sample_lengths(d, 200_000, np.random.default_rng(0))
    for p, t in q[1:-1]:
        assert np.quantile(x, p) == pytest.approx(t, rel=0.02)
    assert x.min() >= 10 and x.max() <= 2000


@pytest.mark.parametrize("bad, words", [
    ([[0.1, 10], [1, 20]], "from 0 to 1"),
    ([[0, 10], [0.5, 5], [1, 20]], "must not decrease"),
    ([[0, 10], [0.5, 20], [0.5, 30], [1, 40]], "must increase"),
])
def test_bad_quantiles_are_refused(bad, words):
    with pytest.raises(SpecError, match=words):
        dist(kind="empirical", quantiles=bad)


# --------------------------------------------------------------------- arrivals ----
def test_poisson_gaps_have_rate_and_cv_one():
    t = poisson_arrivals(4.0, 200_001, np.random.default_rng(0))
    gaps = np.diff(t)
    assert t[0] == 0 and np.all(gaps >= 0)
    assert 1 / gaps.mean() == pytest.approx(4.0, rel=0.01)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("cv", [0.5, 2.0, 4.0])
def test_gamma_gaps_have_the_asked_rate_and_cv(cv):
    gaps = np.diff(gamma_arrivals(3.0, cv=cv, n=400_001, rng=np.random.default_rng(1)))
    assert 1 / gaps.mean() == pytest.approx(3.0, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.05)


def test_max_load_and_closed_loop():
    r = requests_from_spec(spec(arrivals={"kind": "max_load"}))
    assert np.all(r.arrival_s == 0) and r.concurrency is None and r.n == 100
    r = requests_from_spec(spec(arrivals={"kind": "closed_loop", "concurrency": 7}))
    assert r.concurrency == 7 and r.n == 100


def test_same_seed_same_requests_and_streams_are_independent():
    a = spec(lengths={"kind": "distribution", "input": {"kind": "uniform", "min": 1, "max": 999},
                      "output": {"kind": "normal", "mean": 50, "std": 20}})
    r1, r2 = requests_from_spec(a), requests_from_spec(a)
    for f in ("arrival_s", "prompt_tokens", "output_tokens"):
        assert np.array_equal(getattr(r1, f), getattr(r2, f))
    other_seed = requests_from_spec(a, overrides={"seed": 2})
    assert not np.array_equal(r1.prompt_tokens, other_seed.prompt_tokens)
    # another arrival process leaves the lengths as they were
    gamma = requests_from_spec(a.model_copy(update={"arrivals": spec(
        arrivals={"kind": "gamma", "rate": 5, "cv": 3}).arrivals}))
    assert np.array_equal(r1.prompt_tokens, gamma.prompt_tokens)
    assert not np.array_equal(r1.arrival_s, gamma.arrival_s)


def test_rates_and_slos_parse_with_units():
    assert parse_rate("4/s") == 4 and parse_rate("4 req/s") == 4
    assert parse_rate("240/min") == pytest.approx(4) and parse_rate(2.5) == 2.5
    assert parse_slo("2 s") == 2 and parse_slo("100 ms") == pytest.approx(0.1)
    for bare in ("2", 2, 0.1):
        with pytest.raises(UnitError, match="unit"):
            parse_slo(bare)
    with pytest.raises(SpecError, match="slo.ttft.*unit"):
        spec(slo={"ttft": 2, "tpot": "50 ms"})
    with pytest.raises(SpecError, match="arrivals.poisson.rate.*greater than 0"):
        spec(arrivals={"kind": "poisson", "rate": 0})
    with pytest.raises(SpecError, match="requests per second"):
        spec(arrivals={"kind": "poisson", "rate": "4 GB"})


# ----------------------------------------------------------------------- traces ----
def test_trace_csv_rescaled_to_a_rate(tmp_path):
    path = write(tmp_path / "t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n"
                 "10,5,2\n10.5,6,3\n12,7,4\n16,8,5\n")
    r = read_trace_csv(path)
    assert list(r.arrival_s) == [0, 0.5, 2, 6] and list(r.prompt_tokens) == [5, 6, 7, 8]
    s, base = load_workload(path)
    fast = requests_from_spec(s, base_dir=base, overrides={"rate": "2/s"})
    assert (fast.n - 1) / fast.arrival_s[-1] == pytest.approx(2.0)
    # the shape of the arrival pattern is kept
    assert np.allclose(fast.arrival_s / fast.arrival_s[-1], r.arrival_s / r.arrival_s[-1])


@pytest.mark.parametrize("text, line, field, words", [
    ("arrived_at,num_prefill_tokens\n0,5\n", "header", "num_decode_tokens", "missing column"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n1,-4,3\n", ":3",
     "num_prefill_tokens", "at least 1"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n1,4,2.5\n", ":3",
     "num_decode_tokens", "integers"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n1,4,x\n", ":3",
     "num_decode_tokens", "not a finite number"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n1,4,\n", ":3",
     "num_decode_tokens", "not a finite number"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n1,1e20,3\n", ":3",
     "num_prefill_tokens", "at most"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,2\n2,4,2\n1,4,2\n", ":4",
     "arrived_at", "must not decrease"),
])
def test_malformed_trace_is_one_line_naming_file_line_field_rule(tmp_path, text, line, field,
                                                                words):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(SpecError) as info:
        read_trace(path)
    msg = info.value.message()
    assert str(path) in msg and line in msg and field in msg and words in msg
    assert "\n" not in msg


def test_trace_without_times_needs_an_arrival_process(tmp_path):
    path = write(tmp_path / "lens.csv", "num_prefill_tokens,num_decode_tokens\n5,2\n6,3\n")
    s, base = load_workload(path)
    assert s.arrivals.kind == "max_load"
    r = requests_from_spec(s, base_dir=base, overrides={"rate": 1, "num_requests": 5})
    assert list(r.prompt_tokens) == [5, 6, 5, 6, 5]  # file order, repeated
    with pytest.raises(SpecError, match="arrived_at"):
        requests_from_spec(spec(lengths={"kind": "trace", "path": str(path)},
                                arrivals={"kind": "trace"}, num_requests=None))


def test_trace_arrivals_need_trace_lengths():
    with pytest.raises(SpecError, match="lengths must be of kind 'trace'"):
        spec(arrivals={"kind": "trace"})


def test_overrides_pick_one_arrival_process():
    with pytest.raises(SpecError, match="at most one"):
        apply_overrides(spec(), {"rate": 2, "concurrency": 3})
    assert apply_overrides(spec(), {"concurrency": 3}).arrivals.kind == "closed_loop"
    assert apply_overrides(spec(arrivals={"kind": "max_load"}), {"rate": 3}).arrivals.rate == 3
    with pytest.raises(SpecError, match="greater than 0"):
        apply_overrides(spec(), {"rate": -1})


@needs_traces
@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "workloads" / "serving")
                                        .glob("*.yaml")))
def test_every_serving_workload_generates_requests(name):
    s = load_serving_workload(name)
    r = requests_from_spec(s)
    assert r.n == (s.num_requests or r.n) and r.prompt_tokens.min() >= 1
    assert np.all(np.diff(r.arrival_s) >= 0)


@needs_traces
def test_conv_trace_matches_its_published_statistics():
    r = requests_from_spec(load_serving_workload("conv-trace"))
    assert r.n == 19_366
    assert r.prompt_tokens.mean() == pytest.approx(1155, rel=0.01)
    assert r.output_tokens.mean() == pytest.approx(211, rel=0.01)
