"""Golden numbers of the model: every hardware template on every shipped scenario (and a
few more covering tensor/pipeline parallelism and 8-bit precisions), area/power/cost per
template, and fixed-seed searches. ``tests/golden/test_golden.py`` checks that the model
still gives exactly these numbers.

Regenerate (only when a change of the numbers is intended, and say so in the commit):

    .venv/bin/python -m tests.golden.make_golden
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ador.errors import AdorError
from ador.evaluate import evaluate, to_json
from ador.evaluate.compare import compare, comparison_json
from ador.spec.io import list_templates, load_hardware, load_model, load_problem, load_scenario_file
from ador.spec.problem import ProblemSpec
from ador.spec.scenario import Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = HERE / "golden.json"

# (label, model, scenario fields): the shipped scenario files and problem scenarios, plus
# parallel and 8-bit cases.
EXTRA_SCENARIOS: tuple[tuple[str, str, dict], ...] = (
    ("llama3-70b-tp4", "llama3-70b", {"batch": 32, "input_len": 1024, "output_len": 128,
                                      "tp": 4}),
    ("llama2-7b-pp2", "llama2-7b", {"batch": 8, "input_len": 256, "output_len": 64,
                                    "pp": 2}),
    ("llama3-8b-fp8", "llama3-8b", {"batch": 64, "input_len": 512, "output_len": 128,
                                    "weight_precision": "fp8", "activation_precision": "fp8",
                                    "kv_precision": "fp8"}),
    ("llama3-8b-long", "llama3-8b", {"batch": 4, "input_len": 4000, "output_len": 1000}),
)


def scenarios() -> list[tuple[str, str, Scenario]]:
    out = []
    for path in sorted((ROOT / "workloads" / "scenarios").glob("*.yaml")):
        sf = load_scenario_file(path)
        out.append((sf.name, sf.model, sf.scenario))
    for problem in [ProblemSpec(), load_problem(ROOT / "problems" / "ador-paper.yaml")]:
        for sc in problem.scenarios:
            out.append((f"{problem.name}:{sc.label}", sc.model, sc.scenario()))
    for label, model, fields in EXTRA_SCENARIOS:
        out.append((label, model, Scenario(**fields)))
    return out


def plain(o: Any) -> Any:
    """JSON-safe copy: numpy to Python, non-finite floats as strings."""
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return plain(o.tolist())
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    return o


def collect_evaluations() -> dict:
    out = {}
    for template in list_templates():
        hw = load_hardware(template)
        for label, model, sc in scenarios():
            key = f"{template}|{label}"
            try:
                out[key] = to_json(evaluate(hardware=hw, model=load_model(model), scenario=sc))
            except AdorError as err:
                out[key] = {"error": err.message()}
    return plain(out)


def collect_area() -> dict:
    from ador.cli.area_cmd import area_report

    return plain({t: area_report(t) for t in list_templates()})


def collect_compare() -> dict:
    _, model, sc = scenarios()[0]
    specs = [load_hardware(t) for t in list_templates()]
    return plain(comparison_json(compare(hardware=specs, model=load_model(model),
                                         scenario=sc)))


SEARCHES: dict[str, dict] = {
    "default-pymoo": {"search": {"pop_size": 16, "generations": 4, "seed": 3}},
    "paper-nsga3": {"config": "problems/ador-paper.yaml",
                    "objectives": ["tpot", "tokens_per_s_per_mm2", "tokens_per_j"],
                    "budgets": {"area_mm2": 826.0, "hbm_bandwidth_bytes_per_s": 2.039e12,
                                "power_w": 700.0, "cost_usd": 20000.0},
                    "search": {"pop_size": 12, "generations": 3, "seed": 1}},
    "tiny-sweep": {"space": str(HERE / "space-tiny.yaml"),
                   "objectives": ["tpot", "power", "ttft", "area"], "slo": {"ttft_s": 5.0},
                   "search": {"backend": "sweep"}},
    "default-optuna-tpe": {"search": {"backend": "optuna", "algorithm": "tpe", "trials": 24,
                                      "pop_size": 8, "seed": 2}},
}


def search_problem(name: str) -> ProblemSpec:
    opts = dict(SEARCHES[name])
    config = opts.pop("config", None)
    data = (load_problem(ROOT / config) if config else ProblemSpec()).model_dump(mode="json")
    for key, value in opts.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    data["name"] = f"golden-{name}"
    return ProblemSpec.model_validate(data)


def collect_search(name: str) -> dict:
    from ador.search.explore import run_search

    with tempfile.TemporaryDirectory() as tmp:
        r = run_search(search_problem(name), out_dir=tmp)
        return plain({
            "constraints": list(r.problem.constraints),
            "objectives": list(r.problem.objectives),
            "designs": r.designs.to_dict("list"),
            "pareto": r.pareto["id"].tolist(),
            "baselines": r.baselines.to_dict("list"),
            "comparison": r.comparison.to_dict("list"),
            "best": r.summary["best"],
            "hypervolume": r.summary["hypervolume"],
        })


def collect_all() -> dict:
    return {
        "evaluations": collect_evaluations(),
        "area": collect_area(),
        "compare": collect_compare(),
        "searches": {name: collect_search(name) for name in SEARCHES},
    }


def main() -> None:
    data = collect_all()
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
