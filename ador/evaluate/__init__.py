"""Evaluation of scenarios on designs: vectorized populations and single-design breakdowns."""

from ador.evaluate.breakdown import Breakdown, evaluate, to_json
from ador.evaluate.engine import evaluate_population
from ador.evaluate.results import PopulationResult

__all__ = ["Breakdown", "PopulationResult", "evaluate", "evaluate_population", "to_json"]
