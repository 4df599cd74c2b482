"""Side-by-side evaluation of several designs on one scenario, with ratios to the first."""

from __future__ import annotations

from dataclasses import dataclass

from ador.evaluate.breakdown import Breakdown, evaluate
from ador.metrics import COMPARED, FITS_MEMORY
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario


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
        values = {m.column: getattr(b, m.column) for m in COMPARED}
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
            {"hardware": b.hardware, **c.metrics[i],
             FITS_MEMORY.column: getattr(b, FITS_MEMORY.column),
             "ratios": {key: c.ratio(i, key) for key in c.metrics[i]}}
            for i, b in enumerate(c.results)
        ],
    }
