"""The model gives exactly the golden numbers (tests/golden/golden.json) on every hardware
template, scenario and fixed-seed search. New keys and columns may appear; every golden
value must be reproduced bit for bit."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import pytest

from tests.golden import make_golden


@functools.lru_cache(maxsize=1)
def golden() -> dict:
    return json.loads(make_golden.GOLDEN.read_text(encoding="utf-8"))


def same(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences between a golden value and the current one (extra dict keys allowed)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, got {type(actual).__name__}"]
        out = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{path}/{k}: missing")
            else:
                out += same(v, actual[k], f"{path}/{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r:.80}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in same(e, a, f"{path}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected):
        return [] if math.isnan(actual) else [f"{path}: {expected!r} != {actual!r}"]
    if expected != actual or (type(expected) is not type(actual) and not (
            isinstance(expected, (int, float)) and isinstance(actual, (int, float)))):
        return [f"{path}: {expected!r} != {actual!r}"]
    return []


def check(expected: Any, actual: Any) -> None:
    diffs = same(expected, actual)
    assert not diffs, f"{len(diffs)} differences, first: " + "; ".join(diffs[:5])


def test_every_template_and_scenario_gives_the_golden_numbers():
    check(golden()["evaluations"], make_golden.collect_evaluations())


def test_area_power_cost_of_every_template():
    check(golden()["area"], make_golden.collect_area())


def test_compare_of_every_template():
    check(golden()["compare"], make_golden.collect_compare())


@pytest.mark.parametrize("name", [
    "tiny-sweep", "default-pymoo",
    pytest.param("paper-nsga3", marks=pytest.mark.slow),
    pytest.param("default-optuna-tpe", marks=pytest.mark.slow),
])
def test_fixed_seed_search_gives_the_golden_results(name):
    check(golden()["searches"][name], make_golden.collect_search(name))


def test_the_checker_sees_a_changed_number():
    g = golden()["evaluations"]
    key = next(iter(g))
    changed = json.loads(json.dumps(g[key]))
    changed["ttft_s"] = changed["ttft_s"] * (1 + 1e-15) + 1e-300
    assert same(g[key], changed)
    assert not same(g[key], g[key])
