"""Knobs that cannot change a metric are refused, and identical designs are evaluated once."""

from __future__ import annotations

import numpy as np
import pytest

from ador.errors import SpecError
from ador.search.archive import Archive
from ador.search.problem import SearchProblem
from ador.search.space import DesignSpace, load_design_space
from tests.search.conftest import small_problem


def test_chips_knob_is_refused_naming_file_and_knob(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nbase: ador-hetero\nknobs:\n"
                    "  - {name: chips, path: system.chips, type: choice, values: [1, 8]}\n"
                    "  - {name: tp, path: scenario.tp, type: choice, values: [1, 2]}\n")
    space = load_design_space(str(path))
    with pytest.raises(SpecError) as err:
        SearchProblem(small_problem(space=str(path)), space)
    assert err.value.file == str(path) and err.value.field == "knobs[0].path"
    assert "cannot change any metric" in err.value.rule


def test_default_space_has_no_inert_knob(hetero_space: DesignSpace):
    assert "chips" not in hetero_space.names
    SearchProblem(small_problem(space="ador-hetero"), hetero_space)  # accepted


def test_identical_designs_are_evaluated_once(hetero_space, monkeypatch):
    p = SearchProblem(small_problem(space="ador-hetero"), hetero_space)
    rng = np.random.default_rng(1)
    s = hetero_space
    X = s.repair(rng.uniform(s.xl, s.xu, size=(6, s.n_var)))
    names = hetero_space.names
    sa_count, sa_dim = names.index("sa_count"), names.index("sa_dim")
    X[:, sa_count] = 0  # no systolic arrays: their shape cannot matter
    twin = X[0].copy()
    twin[sa_dim] = (X[0, sa_dim] + 1) % 3
    batch = np.vstack([X, X[:2], twin])  # 6 designs, 2 repeats, 1 functional twin of row 0
    calls = []
    real = p.evaluate
    monkeypatch.setattr(p, "evaluate", lambda Z: calls.append(len(Z)) or real(Z))
    archive = Archive(p)
    ev = archive.evaluate(batch, batch=0)
    assert calls == [len({tuple(r) for r in X})] and archive.distinct == calls[0]
    direct = real(batch)
    np.testing.assert_array_equal(ev.F, direct.F)
    np.testing.assert_array_equal(ev.G, direct.G)
    for k, v in direct.metrics.items():
        np.testing.assert_array_equal(ev.metrics[k], v, err_msg=k)
    archive.evaluate(X[::-1], batch=1)  # all seen before: nothing evaluated
    assert calls == [calls[0]] and archive.n == 15
    np.testing.assert_array_equal(archive.F[9:], direct.F[:6][::-1])
