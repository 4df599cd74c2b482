"""The Python API beside ador.load_run: keyword-only, the same numbers as the CLI."""

from __future__ import annotations

import json

import pytest

import ador
from ador.errors import AdorError, InfeasibleError


def test_evaluate_design_matches_ador_evaluate(cli):
    b = ador.evaluate_design(hardware="h100", model="llama3-8b", batch=8, input_len=256,
                             output_len=64)
    r = cli("evaluate", "h100", "--batch", "8", "--input-len", "256", "--output-len", "64",
            "--json")
    out = json.loads(r.stdout)
    assert b.tpot_s == out["tpot_s"] and b.ttft_s == out["ttft_s"]
    with pytest.raises(TypeError):
        ador.evaluate_design("h100")  # type: ignore[misc]


def test_compare_and_refusals():
    c = ador.compare_designs(hardware=["a100", "h100"], batch=8)
    assert c.ratio(1, "tpot_s") < 1  # the H100 is faster per token
    with pytest.raises(InfeasibleError, match="allow_overflow"):
        ador.compare_designs(hardware=["a100", "h100"], model="llama3-70b")
    with pytest.raises(AdorError, match="batch"):
        ador.evaluate_design(hardware="h100", batch=0)


def test_explore_from_a_mapping(tmp_path):
    run = ador.explore(problem={"space": "ador-small", "baselines": ["h100"],
                                "slo": {"tpot_s": "100 ms"},
                                "search": {"pop_size": 8, "generations": 2}},
                       out_dir=tmp_path)
    assert run.folder.parent == tmp_path and len(run.pareto) >= 1
    assert ador.load_run(run.folder).summary["evaluations"] == 16
