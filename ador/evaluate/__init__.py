"""Evaluation of scenarios on designs: vectorized populations and single-design breakdowns."""

from ador.evaluate.breakdown import Breakdown, evaluate, to_json
from ador.evaluate.columns import scenario_columns
from ador.evaluate.efficiency import ChipBreakdown, Efficiency, chip_breakdown, chip_report
from ador.evaluate.engine import evaluate_population
from ador.evaluate.results import PopulationResult

__all__ = ["Breakdown", "ChipBreakdown", "Efficiency", "PopulationResult", "chip_breakdown",
           "chip_report", "evaluate", "evaluate_population", "scenario_columns", "to_json"]
