"""Frozen results of the evaluator: arrays over a population, and one design's breakdown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.memory import Footprint

# Utilisation keys besides the matrix kinds (ador.model.units).
VECTOR_UNIT = "vector_unit"
HBM = "hbm"
BOUND_NAMES = ("compute", "hbm", "sram", "communication", "overhead")


@dataclass(frozen=True)
class StageResult:
    """One prefill pass or one (context-averaged) decode step, for every design."""

    time: np.ndarray  # (n,) seconds
    op_times: dict[str, np.ndarray]  # seconds per pass, repeats included
    op_flops: dict[str, float]  # FLOPs per pass, repeats included
    op_bytes: dict[str, np.ndarray]  # HBM bytes per pass, repeats included
    op_sram_bytes: dict[str, np.ndarray]  # global-buffer bytes per pass, repeats included
    op_comm_bytes: dict[str, float]  # bytes each chip sends over P2P per pass
    op_bound: dict[str, np.ndarray]  # index into BOUND_NAMES (decode: at the middle context)
    op_class: dict[str, str]
    class_times: dict[str, np.ndarray]
    utilisation: dict[str, np.ndarray]  # achieved / peak, per unit class
    flops: float


@dataclass(frozen=True)
class PopulationResult:
    ttft: np.ndarray
    tpot: np.ndarray
    e2e: np.ndarray
    throughput: np.ndarray  # output tokens per second, whole system
    throughput_per_chip: np.ndarray
    chips: int
    memory: Footprint
    memory_capacity: np.ndarray  # per-chip HBM bytes
    fits_memory: np.ndarray
    supported: np.ndarray  # precision supported and enough chips
    prefill: StageResult
    decode: StageResult

    @property
    def n(self) -> int:
        return int(self.ttft.shape[0])
