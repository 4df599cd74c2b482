"""Specs: hardware, model and scenario as frozen pydantic models, and their YAML io."""

from ador.spec.hardware import (Calibration, Chip, Dataflow, HardwareSpec, Hbm, MacTree, P2P,
                                Sram, System, SystolicArray, Topology, VectorUnit)
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario, ScenarioFile

__all__ = [
    "Calibration", "Chip", "Dataflow", "HardwareSpec", "Hbm", "MacTree", "ModelSpec", "P2P",
    "Precision", "Scenario", "ScenarioFile", "Sram", "System", "SystolicArray", "Topology",
    "VectorUnit",
]
