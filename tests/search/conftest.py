"""Shared pieces of the search tests: small problems that evaluate in milliseconds."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pandas as pd
import pytest

from ador.search.problem import SearchProblem
from ador.search.space import load_design_space
from ador.spec.problem import (
    Budgets,
    ProblemScenario,
    ProblemSpec,
    SearchSettings,
    ServingSearch,
    Slo,
)


def small_problem(**overrides) -> ProblemSpec:
    data = {"name": "t", "space": "ador-small",
            "scenarios": [ProblemScenario(batch=32, input_len=128, output_len=128)],
            "slo": Slo(), "budgets": Budgets(), "objectives": ["throughput_per_chip", "area"],
            "baselines": ["a100"], "search": SearchSettings(pop_size=16, generations=3)}
    data.update(overrides)
    return ProblemSpec(**data)


@pytest.fixture(scope="session")
def small_space():
    return load_design_space("ador-small")


@pytest.fixture(scope="session")
def hetero_space():
    return load_design_space("ador-hetero")


@pytest.fixture
def small(small_space):
    return SearchProblem(small_problem(), small_space)


# -- joint hardware and serving searches ------------------------------------------------

def space_file(tmp_path: Path, text: str, *, name: str = "space") -> Path:
    """A design-space YAML written to ``tmp_path``."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def serving_problem(space: Path | str, **serving) -> ProblemSpec:
    """A small problem on ``space`` with the fixed-512-512 serving workload (200 requests)
    and goodput per mm² and P99 TPOT as objectives; ``serving`` sets ServingSearch fields."""
    return small_problem(space=str(space), objectives=["goodput_per_mm2", "tpot_p99"],
                         serving=ServingSearch(workload="fixed-512-512", num_requests=200,
                                               **serving))


def cluster_confirmation(space: Path, *, out: Path, name: str):
    """Sweep ``space`` with a serving problem, confirm 2 Pareto + 1 sampled designs, and
    return the run folder, confirmed.csv and its first ``ador cluster`` row."""
    from ador.search.explore import run_search
    from ador.search.runfolder import FILES

    spec = serving_problem(space, confirm_pareto=2, confirm_sample=1).model_copy(update={
        "search": SearchSettings(backend="sweep"), "name": name})
    folder = run_search(spec, out_dir=out).folder
    confirmed = pd.read_csv(folder / FILES["confirmed"])
    rows = confirmed[confirmed["command"].str.startswith("ador cluster")]
    assert len(rows) >= 1, confirmed["command"].tolist()
    row = rows.iloc[0]
    assert row["sim_error"] != row["sim_error"] or not row["sim_error"]  # NaN or empty
    return folder, confirmed, row


def reproduced(cli, row) -> dict:
    """Run a confirmed row's command; its JSON, checked to carry the simulated figures
    bit for bit."""
    out = cli(*shlex.split(row["command"])[1:])
    assert out.code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["goodput"]["rate_per_s"] / data["chips"] == row["sim:goodput_per_chip_per_s"]
    assert data["summary"]["tpot_p99_s"] == row["sim:tpot_p99_s"]
    assert data["summary"]["ttft_p99_s"] == row["sim:ttft_p99_s"]
    return data
