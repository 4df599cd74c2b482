"""Side-by-side evaluation of several designs on one scenario, with ratios to the first."""

from __future__ import annotations

from dataclasses import dataclass

from ador.evaluate.breakdown import Breakdown, evaluate
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario

# metric key -> (label, True when higher is better)
COMPARED = {
    "ttft_s": ("ttft", False),
    "tpot_s": ("tpot", False),
    "e2e_s": ("end to end", False),
    "throughput_tok_s": ("throughput", True),
    "throughput_per_chip_tok_s": ("throughput per chip", True),
    "area_mm2": ("die area (mm²)", False),
    "power_w": ("average power (W)", False),
    "energy_per_token_j": ("energy per token (J)", False),
    "cost_usd": ("cost per chip ($)", False),
    "tokens_per_s_per_mm2": ("tokens/s per mm²", True),
    "tokens_per_j": ("tokens per joule", True),
    "tokens_per_s_per_usd": ("tokens/s per $", True),
}


@dataclass(frozen=True)
class Comparison:
    scenario: Scenario
    model: str
    results: tuple[Breakdown, ...]
    metrics: tuple[dict[str, float], ...]  # per design: metric key -> value

    def ratio(self, i: int, key: str) -> float:
        """Design i's value over the first design's (so 2.0 means twice the first's)."""
        base = self.metrics[0][key]
        return self.metrics[i][key] / base if base else float("nan")


def compare(*, hardware: list[HardwareSpec], model: ModelSpec, scenario: Scenario,
            extra=None) -> Comparison:
    """Evaluate every design; ``extra(spec, breakdown) -> dict`` adds metrics per design."""
    results = tuple(evaluate(hardware=hw, model=model, scenario=scenario) for hw in hardware)
    metrics = []
    for hw, b in zip(hardware, results, strict=False):
        values = {key: getattr(b, key) for key in COMPARED}
        if extra is not None:
            values.update(extra(hw, b))
        metrics.append(values)
    return Comparison(scenario=scenario, model=model.name, results=results,
                      metrics=tuple(metrics))


def comparison_json(c: Comparison) -> dict:
    return {
        "model": c.model,
        "scenario": c.scenario.model_dump(mode="json"),
        "baseline": c.results[0].hardware,
        "designs": [
            {"hardware": b.hardware, **c.metrics[i], "fits_memory": b.fits_memory,
             "ratios": {key: c.ratio(i, key) for key in c.metrics[i]}}
            for i, b in enumerate(c.results)
        ],
    }
