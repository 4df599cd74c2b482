"""The cost model of hardware: compute-unit kinds, memory, interconnect, area, power, cost.

Pure functions over :class:`~ador.model.design.DesignArrays` (populations of designs).
"""

from ador.model.area import AreaBreakdown, AreaConstants
from ador.model.cost import CostBreakdown, CostConstants, chip_cost
from ador.model.design import DesignArrays
from ador.model.memory import Footprint, footprint
from ador.model.opcost import OpCost, op_cost
from ador.model.power import PowerBreakdown, PowerConstants, peak_power
from ador.model.units import MATRIX_KINDS, MatrixKind, best_matrix_time

__all__ = ["MATRIX_KINDS", "AreaBreakdown", "AreaConstants", "CostBreakdown", "CostConstants",
           "DesignArrays", "Footprint", "MatrixKind", "OpCost", "PowerBreakdown",
           "PowerConstants", "best_matrix_time", "chip_cost", "footprint", "op_cost",
           "peak_power"]
