"""Specs: hardware, model and scenario as frozen pydantic models, and their YAML io."""

from ador.spec.hardware import (
                                P2P,
                                Calibration,
                                Chip,
                                Dataflow,
                                HardwareSpec,
                                Hbm,
                                MacTree,
                                Sram,
                                System,
                                SystolicArray,
                                Topology,
                                VectorUnit,
)
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario, ScenarioFile

__all__ = [
                                "P2P",
                                "Calibration",
                                "Chip",
                                "Dataflow",
                                "HardwareSpec",
                                "Hbm",
                                "MacTree",
                                "ModelSpec",
                                "Precision",
                                "Scenario",
                                "ScenarioFile",
                                "Sram",
                                "System",
                                "SystolicArray",
                                "Topology",
                                "VectorUnit",
]
