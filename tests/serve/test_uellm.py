"""UELLM's grouping rules by hand, the predictor's knob, deadlines and violations, and the
grouped static batches run through the serving engine (conservation, batch order)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ador.serve import RequestSet, SchedulerConfig, simulate
from ador.serve.aggregate import FastState
from ador.serve.api import make_scheduler
from ador.serve.engine import run
from ador.serve.predictor import (
    class_lengths,
    deadlines_s,
    length_class,
    predict_classes,
    rule_lengths,
    violations,
)
from ador.serve.schedulers.grouped import morphling_groups, s3_groups, uellm_groups
from ador.spec.grouping import RELEASED_SLO_RANGES_S, GroupingConfig
from tests.conftest import hardware, model
from tests.serve.conftest import step

CFG = GroupingConfig()


def test_slo_odbs_groups_by_hand():
    pred = [100, 4000, 50, 60, 400, 3000, 80]
    slo = [10, 5, 30, 30, 12, 200, 11]
    # keys SLO + 0.5 pred: 60, 2005, 55, 60, 212, 1700, 51 -> order 6 2 0 3 4 5 1 (0 before
    # 3: stable); max starts at pred[6] = 80; padding terms (pred - max) x (n + 1) x 1.2:
    # 6: 0; 2: < 0; 0: 20 x 3 x 1.2 = 72; 3: < 0; 4: 300 x 5 x 1.2 = 1800 (max 400);
    # 5: 2600 x 6 x 1.2 = 18720 > 15000 -> new group [5] (max 3000); 1: 1000 x 2 x 1.2 = 2400
    assert uellm_groups(pred, slo, CFG) == [[6, 2, 0, 3, 4], [5, 1]]


def test_slo_odbs_caps_groups_at_ten_and_length_weight_orders():
    assert uellm_groups([7] * 23, [1.0] * 23, CFG) == [list(range(10)), list(range(10, 20)),
                                                        [20, 21, 22]]
    # without the SLO term the order is by predicted length alone
    cfg = GroupingConfig(sort_slo_weight=0.0)
    assert uellm_groups([30, 10, 20], [1, 2, 3], cfg) == [[1, 2, 0]]
    # with only the SLO term, by SLO (scaled deadlines sort as unscaled ones)
    cfg = GroupingConfig(sort_length_weight=0.0, slo_scale=0.1)
    assert uellm_groups([30, 10, 20], [0.3, 0.1, 0.2], cfg) == [[1, 2, 0]]


def test_s3_and_morphling_groups_by_hand():
    pred = [600, 300, 200, 1500, 100, 500]
    # by length: 4(100) 2(200) 1(300) | 5(500): 1100 > 1024 | 0(600): 1100 | 3 alone
    assert s3_groups(pred, [0] * 6, CFG) == [[4, 2, 1], [5], [0], [3]]
    assert s3_groups([10] * 25, [0] * 25, CFG) == [list(range(20)), list(range(20, 25))]
    assert morphling_groups([5] * 23, [0] * 23, CFG) == [list(range(10)),
                                                         list(range(10, 20)), [20, 21, 22]]


def test_length_classes_and_representatives():
    edges = CFG.length_edges
    assert length_class([1, 63, 64, 255, 256, 4096, 9999], edges).tolist() == [0, 0, 1, 2, 3,
                                                                              6, 6]
    assert class_lengths(edges).tolist() == [63, 127, 255, 511, 1023, 2047, 4096]
    mid = class_lengths(edges, "middle")
    assert np.all((mid >= np.array(edges[:-1])) & (mid < np.array(edges[1:])))


@pytest.mark.parametrize("error", ["uniform", "adjacent"])
def test_predictor_accuracy_knob(error):
    true = np.random.default_rng(1).integers(1, 4000, 20000)
    cls = length_class(true, CFG.length_edges)
    for acc in (0.0, 0.3, 0.8, 1.0):
        p = predict_classes(true, accuracy=acc, seed=5, edges=CFG.length_edges, error=error)
        hit = float(np.mean(p == cls))
        assert abs(hit - acc) < 0.015
        assert np.all((p >= 0) & (p < len(CFG.length_edges) - 1))
        if error == "adjacent":
            assert np.all(np.abs(p - cls) <= 1)
    again = predict_classes(true, accuracy=0.5, seed=5, edges=CFG.length_edges, error=error)
    other = predict_classes(true, accuracy=0.5, seed=6, edges=CFG.length_edges, error=error)
    assert np.array_equal(again, predict_classes(true, accuracy=0.5, seed=5,
                                                 edges=CFG.length_edges, error=error))
    assert not np.array_equal(again, other)


def test_released_deadlines_and_violations():
    d = deadlines_s(100, CFG)
    for b, (lo, hi) in enumerate(RELEASED_SLO_RANGES_S):
        blk = d[20 * b:20 * (b + 1)]
        assert np.all((blk >= lo) & (blk <= hi)) and np.all(blk == np.floor(blk))
    assert np.allclose(deadlines_s(100, GroupingConfig(slo_scale=0.5)), 0.5 * d)
    # a request violates when its batch completes after its deadline; unfinished ones too
    assert violations([1.0, 2.0, 3.0, np.nan], [1.0, 1.5, 5.0, 9.0]) == 2


def test_config_from_yaml_mapping_and_bad_values():
    cfg = SchedulerConfig.model_validate({"name": "uellm", "grouping": {"accuracy": 0.8,
                                                                         "seed": 3}})
    assert cfg.grouping.accuracy == 0.8 and cfg.kv_memory_fraction == 0.9
    with pytest.raises(ValidationError):
        SchedulerConfig.model_validate({"name": "uellm", "grouping": {"accuracy": 1.5}})
    with pytest.raises(ValidationError):
        GroupingConfig(length_edges=(1, 64, 32))


def _closed(n: int, seed: int = 0) -> RequestSet:
    rng = np.random.default_rng(seed)
    return RequestSet(arrival_s=np.zeros(n), prompt_tokens=rng.integers(20, 600, n),
                      output_tokens=rng.integers(1, 700, n))


@pytest.mark.parametrize("name,rule", [("uellm", uellm_groups), ("s3", s3_groups),
                                       ("morphling", morphling_groups)])
def test_engine_runs_the_released_groups_in_order(name, rule):
    reqs = _closed(57)
    cfg = SchedulerConfig(name=name, grouping=GroupingConfig(accuracy=0.7, seed=2,
                                                            length_units_per_token=4.0))
    sm = step()
    sched, kv, _ = make_scheduler(config=cfg, step=sm, requests=reqs, max_context=8192)
    raw = run(requests=reqs, scheduler=sched, step=sm, kv=kv, state_factory=FastState)
    pred = rule_lengths(reqs.output_tokens, cfg.grouping).tolist()
    expect = rule(pred, deadlines_s(reqs.n, cfg.grouping).tolist(), cfg.grouping)
    assert sched.batches == expect
    ids = sorted(i for b in sched.batches for i in b)
    assert ids == list(range(reqs.n))  # none lost, none twice
    ends = [raw.finish_s[b] for b in sched.batches]
    for e in ends:
        assert np.all(e == e[0])  # a static batch completes at once
    firsts = [e[0] for e in ends]
    assert np.all(np.diff(firsts) > 0)  # batches one after another
    assert np.all(np.isfinite(raw.token_times_s))


@pytest.mark.parametrize("name", ["uellm", "s3", "morphling"])
def test_fast_engine_equals_reference_for_grouped_batches(name):
    reqs = _closed(40, seed=4)
    cfg = SchedulerConfig(name=name, grouping=GroupingConfig(accuracy=0.6))
    kw = dict(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"), requests=reqs,
              scheduler=cfg, step_model=step())
    fast, ref = simulate(**kw), simulate(**kw, reference=True)
    assert np.array_equal(fast.requests.finish_s, ref.requests.finish_s)
    assert fast.summary["completed"] == reqs.n


def test_perfect_grouping_never_slower_than_fcfs_on_sorted_lengths():
    # same lengths in every request but outputs: grouping by exact length pads less than
    # arrival order, so the closed run ends no later
    rng = np.random.default_rng(3)
    reqs = RequestSet(arrival_s=np.zeros(60), prompt_tokens=np.full(60, 128),
                      output_tokens=rng.integers(1, 1000, 60))
    g = GroupingConfig(sort_slo_weight=0.0, representative="upper")
    kw = dict(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"), requests=reqs,
              step_model=step())
    ue = simulate(**kw, scheduler=SchedulerConfig(name="uellm", grouping=g))
    mo = simulate(**kw, scheduler=SchedulerConfig(name="morphling", grouping=g))
    assert ue.summary["makespan_s"] < mo.summary["makespan_s"]


def test_scheduler_yaml_with_a_grouping_block(tmp_path):
    from ador.errors import SpecError
    from ador.spec.io import load_spec

    good = tmp_path / "uellm.yaml"
    good.write_text("name: uellm\ngrouping:\n  accuracy: 0.8\n  error: adjacent\n"
                    "  slo_scale: 0.5\n  length_units_per_token: 4\n")
    cfg = load_spec(SchedulerConfig, good)
    assert (cfg.name, cfg.grouping.accuracy, cfg.grouping.error) == ("uellm", 0.8, "adjacent")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: s3\ngrouping:\n  s3_token_budget: -5\n")
    with pytest.raises(SpecError) as err:
        load_spec(SchedulerConfig, bad)
    assert "s3_token_budget" in str(err.value) and "bad.yaml" in str(err.value)


def test_violations_of_an_engine_run_by_hand():
    # four identical requests, Morphling-like batches of 2: the batches take T each, so
    # requests 0-1 finish at T and 2-3 at 2T; every deadline 1.5 T: requests 2 and 3 miss
    reqs = RequestSet.fixed(n=4, prompt=100, output=50)
    kw = dict(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"), requests=reqs,
              step_model=step())
    g = GroupingConfig(morphling_batch=2)
    res = simulate(**kw, scheduler=SchedulerConfig(name="morphling", grouping=g))
    f = res.requests.finish_s
    t1 = f[0]
    assert f[1] == t1 and f[2] == f[3] and f[2] == pytest.approx(2 * t1, rel=1e-9)
    tight = g.model_copy(update={"slo_ranges_s": ((1.5 * t1, 1.5 * t1),)})
    d = deadlines_s(4, tight)
    assert np.all(d == 1.5 * t1)
    assert violations(f, d) == 2
    assert violations(f, deadlines_s(4, tight.model_copy(update={"slo_scale": 2.0}))) == 0


def test_generation_capped_at_predicted_length_plus_margin_by_hand():
    # classes [1, 20), [20, 200), [200, 4097); middle representatives 4, 63, 905 tokens.
    # Outputs 10, 150, 180 predict 4, 63, 63; without the SLO term one group (padding
    # terms 0, (63 - 4) x 2 x 1.2 = 141.6, 0 <= 15000); cap = 63 + 50 = 113 tokens:
    # 10 stays, 150 and 180 end at 113 (37 + 67 = 104 tokens lost)
    reqs = RequestSet(arrival_s=np.zeros(3), prompt_tokens=np.full(3, 64),
                      output_tokens=np.array([10, 150, 180]))
    g = GroupingConfig(length_edges=(1, 20, 200, 4097), representative="middle",
                       sort_slo_weight=0.0)
    assert g.uellm_truncate_margin_tokens == 50 and g.s3_truncate_margin_tokens is None
    kw = dict(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"), requests=reqs,
              step_model=step())
    cfg = SchedulerConfig(name="uellm", grouping=g)
    fast, ref = simulate(**kw, scheduler=cfg), simulate(**kw, scheduler=cfg, reference=True)
    for res in (fast, ref):
        assert res.requests.output_tokens.tolist() == [10, 113, 113]
        assert res.limits["truncated_requests"] == 2 and res.limits["truncated_tokens"] == 104
        assert [res.requests.tokens(i).shape[0] for i in range(3)] == [10, 113, 113]
        assert np.unique(res.requests.finish_s).size == 1  # one static batch
    assert np.array_equal(fast.requests.token_times_s, ref.requests.token_times_s)
    # margin off: every answer runs to its end, nothing counted
    off = simulate(**kw, scheduler=SchedulerConfig(name="uellm", grouping=g.model_copy(
        update={"uellm_truncate_margin_tokens": None})))
    assert off.requests.output_tokens.tolist() == [10, 150, 180]
    assert "truncated_requests" not in off.limits
    assert off.requests.finish_s[0] > fast.requests.finish_s[0]  # 180 steps, not 113
    # the baselines generate to the end by default
    s3 = simulate(**kw, scheduler=SchedulerConfig(name="s3", grouping=g))
    assert s3.requests.output_tokens.tolist() == [10, 150, 180]
