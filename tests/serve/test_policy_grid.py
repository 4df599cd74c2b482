"""The policy-by-hardware grid: its cells, its goodput figures and its run folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError, SpecError
from ador.metrics import SLO_ATTAINMENT
from ador.serve.goodput import goodput_of
from ador.serve.policy_grid import (
    POLICIES,
    GridConfig,
    HardwareChoice,
    grid_config,
    parse_hardware,
    run_policy_grid,
)
from ador.serve.policy_runfolder import is_policy_run, load_policy_run, write_policy_run
from tests.conftest import model
from tests.serve.conftest import poisson

TTFT, TPOT = 0.5, 0.05
A100 = HardwareChoice("A100", "a100-sxm-80gb", "a100-sxm-80gb")
H100 = HardwareChoice("H100", "h100-sxm-80gb", "h100-sxm-80gb")
PAIR = HardwareChoice("sys+mac", "ador-systolic", "ador-mactree")


@pytest.fixture(scope="module")
def tiny():
    """2 hardware x 2 policies on 80 requests (a few seconds)."""
    config = GridConfig(hardware=(A100, H100), policies=("colocated", "disaggregated"),
                        ttft_slo_s=TTFT, tpot_slo_s=TPOT)
    rq = poisson(80, 10.0, mean_in=400, mean_out=100, max_in=2000, max_out=400)
    return run_policy_grid(config=config, model=model("llama3-8b"), requests=rq), rq


def test_tiny_grid_has_every_cell_and_rate(tiny):
    grid, rq = tiny
    g = grid.goodput_frame()
    assert list(zip(g["hardware"], g["policy_key"], strict=True)) == [
        ("A100", "colocated"), ("A100", "disaggregated"),
        ("H100", "colocated"), ("H100", "disaggregated")]
    assert (g["chips"] == 2).all() and grid.num_requests == rq.n == 80
    np.testing.assert_allclose(g["goodput_per_chip_per_s"], g["goodput_per_s"] / g["chips"])
    assert (g["goodput_per_chip_per_s"] > 0).all()
    r = grid.rates_frame()
    assert len(r) == len(g) * len(grid.config.rate_fractions)
    np.testing.assert_allclose(r["rate_per_chip"] * 2, r["rate_per_s"])


def test_goodput_rate_meets_the_slos_and_h100_beats_a100(tiny):
    grid, _ = tiny
    r = grid.rates_frame()
    at = r[r["fraction"] == 1.0]
    assert (at[SLO_ATTAINMENT.column] >= grid.config.attainment).all()
    low = r[r["fraction"] == 0.5]
    assert (low[SLO_ATTAINMENT.column] >= grid.config.attainment).all()
    g = grid.goodput_frame().set_index(["policy_key", "hardware"])["goodput_per_chip_per_s"]
    for policy in ("colocated", "disaggregated"):  # more FLOP/s and bandwidth per chip
        assert g[(policy, "H100")] > g[(policy, "A100")]


def test_pairs_run_only_two_pool_policies():
    config = GridConfig(hardware=(A100, PAIR))
    cells = [(p.key, h.label) for p, h in config.cells()]
    assert [k for k, h in cells if h == "sys+mac"] == ["disaggregated", "adrenaline"]
    assert [k for k, h in cells if h == "A100"] == list(POLICIES)
    spec = POLICIES["disaggregated"].build("ador-systolic", "ador-mactree", 4, 2)
    assert spec.prefill.count == spec.decode.count == 2 and spec.decode.tp == 2
    assert spec.prefill.hardware == "ador-systolic" and spec.decode.hardware == "ador-mactree"
    assert POLICIES["disaggregated"].label(4) == "PD 2P2D"
    assert POLICIES["colocated"].build("a100", "a100", 4, 1).pool.count == 4
    assert GridConfig(hardware=(A100,), chips=8, tp=2).instances == 4


@pytest.mark.parametrize(("kwargs", "field_name"), [
    ({"chips": 3}, "chips"), ({"chips": 0}, "chips"), ({"chips": 2, "tp": 2}, "chips"),
    ({"tp": 0}, "tp"), ({"policies": ("fifo",)}, "policies"),
    ({"policies": ()}, "policies"), ({"ttft_slo_s": 0.0}, "ttft_slo_s"),
    ({"attainment": 1.5}, "attainment"), ({"rate_fractions": (0.5, -1.0)}, "rate_fractions"),
    ({"hardware": (PAIR,), "policies": ("colocated", "semi_pd")}, "policies"),
    ({"hardware": (A100, A100)}, "hardware")])
def test_bad_config_is_one_error_naming_the_field(kwargs, field_name):
    with pytest.raises(SpecError) as err:
        GridConfig(**{"hardware": (A100,), **kwargs})
    assert err.value.field == field_name


@pytest.mark.parametrize("text", ["nope-gpu", "a100+b200", "a+b+c", "a100+", ""])
def test_bad_hardware_names(text):
    with pytest.raises(SpecError) as err:
        parse_hardware(text)
    assert err.value.field == "--hardware"


def test_names_resolve():
    choice = parse_hardware("ador-systolic+ador-mactree")
    assert (choice.prefill, choice.decode, choice.single) == ("ador-systolic", "ador-mactree",
                                                              False)
    assert parse_hardware("h100").single
    assert grid_config(hardware=None).hardware[0].label == "a100"


# ------------------------------------------------------------------- goodput_of ----
@dataclass
class _Result:
    summary: dict
    chips: int = 2
    rates: list = field(default_factory=list)


def test_goodput_never_reports_an_untried_rate():
    """A system that meets the SLOs at every rate: the answer is the last rate that was
    simulated and passed, not the next doubling."""
    rq = poisson(20, 1.0)

    def run(r):
        return _Result(summary={SLO_ATTAINMENT.column: 1.0, "request_throughput_per_s": 10.0})

    g = goodput_of(run, requests=rq, ttft_slo_s=1.0, tpot_slo_s=0.1)
    assert g.rate_per_s in g.rates_tried and g.at_rate is not None
    assert g.rate_per_s == pytest.approx(12.0 * 2 ** 3)  # 1.2 x max load, doubled 3 times


def test_goodput_bisects_to_a_threshold():
    rq = poisson(20, 1.0)

    def run(r):
        rate = (r.n - 1) / (r.arrival_s[-1] - r.arrival_s[0])
        ok = 1.0 if rate <= 7.0 else 0.5
        return _Result(summary={SLO_ATTAINMENT.column: ok, "request_throughput_per_s": 10.0})

    g = goodput_of(run, requests=rq, ttft_slo_s=1.0, tpot_slo_s=0.1, rel_tol=0.01)
    assert g.at_rate.summary[SLO_ATTAINMENT.column] == 1.0
    assert 7.0 * 0.98 < g.rate_per_s <= 7.0 + 1e-9 and g.per_chip == g.rate_per_s / 2


# ------------------------------------------------------------------- run folder ----
def test_folder_round_trips(tiny, tmp_path):
    grid, rq = tiny
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    folder = write_policy_run(tmp_path, name="policies-t", grid=grid, requests=rq,
                              workload={"name": "synthetic"}, now=now)
    assert folder.name == "policies-t-20260102-030405" and is_policy_run(folder)
    run = load_policy_run(folder)
    pd.testing.assert_frame_equal(run.goodput, grid.goodput_frame(), check_dtype=False)
    rates = grid.rates_frame()
    pd.testing.assert_frame_equal(run.rates[rates.columns], rates, check_dtype=False)
    m = json.loads((folder / "summary.json").read_text())
    assert m["kind"] == "policies" and m["model"] == "llama3-8b"
    assert m["grid"]["ttft_slo_s"] == TTFT and m["grid"]["tpot_slo_s"] == TPOT
    assert m["grid"]["hardware"][1] == {"label": "H100", "prefill": "h100-sxm-80gb",
                                        "decode": "h100-sxm-80gb"}
    assert m["grid"]["rate_fractions"] == [0.5, 0.8, 1.0, 1.2]
    assert len(m["clusters"]) == 4 and m["clusters"][1]["cluster"]["policy"] == "disaggregated"
    req = pd.read_csv(folder / "requests.csv")
    np.testing.assert_array_equal(req["prompt_tokens"], rq.prompt_tokens)
    np.testing.assert_allclose(req["arrival_s"], rq.arrival_s, rtol=0, atol=0)
    assert run.hardware == ["A100", "H100"]
    with pytest.raises(AdorError):  # never overwritten
        write_policy_run(tmp_path, name="policies-t", grid=grid, requests=rq,
                         workload={}, now=now)


def test_other_folders_are_not_policy_runs(tmp_path):
    assert not is_policy_run(tmp_path)
    (tmp_path / "summary.json").write_text('{"kind": "serving"}')
    assert not is_policy_run(tmp_path)
    with pytest.raises(AdorError, match="not a policy comparison"):
        load_policy_run(tmp_path)
    with pytest.raises(AdorError, match="does not exist"):
        load_policy_run(tmp_path / "absent")
    (tmp_path / "summary.json").write_text('{"kind": "policies"}')
    with pytest.raises(AdorError, match=r"goodput\.csv is missing"):
        load_policy_run(tmp_path)
