"""The hypervolume reference is fixed by the problem, stored in the run, and shared by the
progress line and hypervolume.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ador.search.explore import run_search
from ador.search.hypervolume import fixed_hypervolume
from ador.search.problem import SearchProblem
from ador.search.reference import reference
from ador.spec.problem import Budgets, SearchSettings, Slo
from tests.search.conftest import small_problem


def test_maximised_objectives_are_in_units_of_the_best_baseline(small_space):
    spec = small_problem(objectives=["throughput_per_chip", "tokens_per_j"],
                         baselines=["a100", "h100"])
    p = SearchProblem(spec, small_space)
    base = pd.DataFrame({"baseline": ["a100", "h100"], "usable": [1, 1],
                         "throughput_per_chip_tok_s": [100.0, 300.0],
                         "tokens_per_j": [2.0, 1.0]})
    ref = reference(p, base)
    np.testing.assert_array_equal(ref.scale, [300.0, 2.0])
    np.testing.assert_array_equal(ref.point, [0.0, 0.0])
    # one design matching the best baseline on both objectives: hypervolume 1
    F = np.array([[-300.0, -2.0]])
    assert fixed_hypervolume(F, scale=ref.scale, point=ref.point) == pytest.approx(1.0)
    assert fixed_hypervolume(2 * F, scale=ref.scale, point=ref.point) == pytest.approx(4.0)
    # an unusable baseline sets no scale
    base.loc[1, "usable"] = 0
    assert reference(p, base).scale[0] == 100.0


def test_limited_objectives_use_the_limit(small_space):
    spec = small_problem(objectives=["tpot", "area"], slo=Slo(tpot_s=0.05),
                         budgets=Budgets(area_mm2=800.0), baselines=[])
    ref = reference(SearchProblem(spec, small_space), pd.DataFrame())
    np.testing.assert_array_equal(ref.point, [0.05, 800.0])
    F = np.array([[0.025, 400.0]])  # half of each limit: a quarter of the box
    assert fixed_hypervolume(F, scale=ref.scale, point=ref.point) == pytest.approx(0.25)


def test_progress_line_csv_and_summary_agree_and_reference_is_stored(tmp_path):
    runs = []
    for seed in (0, 1):
        spec = small_problem(search=SearchSettings(pop_size=16, generations=3, seed=seed),
                             name=f"s{seed}")
        runs.append(run_search(spec, out_dir=tmp_path))
    for r in runs:
        csv = pd.read_csv(r.folder / "hypervolume.csv")
        assert r.archive.live_hypervolume() == pytest.approx(csv["hypervolume"].iloc[-1])
        assert r.summary["hypervolume"] == pytest.approx(csv["hypervolume"].iloc[-1])
        assert np.all(np.diff(csv["hypervolume"]) >= 0)  # a fixed box: never shrinks
    # the reference depends on the problem only, not on what a run found
    assert runs[0].summary["hypervolume_reference"] == runs[1].summary["hypervolume_reference"]
    assert set(runs[0].summary["hypervolume_reference"]) == {"throughput_per_chip", "area"}
