"""Struct-of-arrays view of many hardware designs, so that cost functions run on populations.

Every field is a float64 numpy array of shape (n,). A missing unit class has count 0. The cost
model reads only this structure, never the pydantic specs, so that search can build it
directly from knob matrices without creating spec objects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ador.spec.hardware import HardwareSpec, Topology
from ador.spec.precision import Precision

# Candidate output tiles of an output-stationary array are padded to this many entries.
MAX_TILES = 6
TOPOLOGY_CODE = {Topology.RING: 0, Topology.FULLY_CONNECTED: 1, Topology.SWITCH: 2}
PRECISIONS = tuple(Precision)
HBM_GENERATIONS = ("hbm2", "hbm2e", "hbm3", "hbm3e", "hbm4")


def precision_table(pairs: tuple[tuple[Precision, float], ...]) -> np.ndarray:
    """Per-precision constants as an array indexed like PRECISIONS (the ``supports`` axis)."""
    table = dict(pairs)
    return np.array([table[p] for p in PRECISIONS], dtype=np.float64)


@dataclass(frozen=True)
class DesignArrays:
    clock_hz: np.ndarray
    node_nm: np.ndarray
    # systolic arrays
    sa_count: np.ndarray
    sa_rows: np.ndarray
    sa_cols: np.ndarray
    sa_output_stationary: np.ndarray  # 1.0 for output-stationary, 0.0 for weight-stationary
    sa_tile_rows: np.ndarray  # (n, MAX_TILES) candidate output tiles (output-stationary)
    sa_tile_cols: np.ndarray  # (n, MAX_TILES)
    sa_max_split_k: np.ndarray
    sa_multicast: np.ndarray
    sa_local_buffer_bytes: np.ndarray
    # MAC trees
    mt_count: np.ndarray
    mt_lanes: np.ndarray
    mt_tree_width: np.ndarray
    mt_local_buffer_bytes: np.ndarray
    # vector units
    vu_count: np.ndarray
    vu_lanes: np.ndarray
    vu_special_per_cycle: np.ndarray
    # memories
    sram_bytes: np.ndarray
    sram_bw: np.ndarray
    hbm_stacks: np.ndarray
    hbm_bw: np.ndarray
    hbm_bytes: np.ndarray
    hbm_gen: np.ndarray  # index into HBM_GENERATIONS
    # links and system
    p2p_links: np.ndarray
    p2p_bw: np.ndarray
    p2p_latency_s: np.ndarray
    p2p_overlap: np.ndarray
    chips: np.ndarray
    topology: np.ndarray
    # precision support: (n, len(PRECISIONS)) of 0/1
    supports: np.ndarray
    # calibration
    matrix_eff: np.ndarray
    matrix_eff_8bit: np.ndarray
    overlap_exp: np.ndarray
    attention_eff: np.ndarray
    vector_eff: np.ndarray
    hbm_eff: np.ndarray
    act_residency: np.ndarray
    elementwise_eff: np.ndarray
    kernel_overhead_s: np.ndarray
    min_kernel_s: np.ndarray
    allreduce_latency_s: np.ndarray
    allreduce_bw_eff: np.ndarray

    @property
    def n(self) -> int:
        return int(self.clock_hz.shape[0])

    def supports_precision(self, precision: Precision) -> np.ndarray:
        return self.supports[:, PRECISIONS.index(precision)] > 0

    def distinct(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Groups of designs with the same bits in the fields ``names``: one design of each
        group and the group of every design, so that what depends on those fields alone is
        computed once per group. Kept with the population (its arrays are never changed in
        place; ``take``, ``replace`` and ``concat`` make new populations)."""
        cache = self.__dict__.setdefault("_distinct", {})
        if names not in cache:
            keys = np.ascontiguousarray(np.stack([getattr(self, f) for f in names], axis=1))
            _, first, group = np.unique(keys.view(np.int64), axis=0, return_index=True,
                                        return_inverse=True)
            cache[names] = (first, group.reshape(-1))
        return cache[names]

    def take(self, index) -> DesignArrays:
        """A subset of designs (boolean mask or integer index)."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[DesignArrays]) -> DesignArrays:
        return DesignArrays(**{
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(DesignArrays)
        })

    @staticmethod
    def from_specs(specs: list[HardwareSpec]) -> DesignArrays:
        rows = [_row(spec) for spec in specs]
        return DesignArrays(**{
            f.name: np.asarray([row[f.name] for row in rows], dtype=np.float64)
            for f in fields(DesignArrays)
        })


def _row(spec: HardwareSpec) -> dict:
    from ador.model.units import mactree, systolic, vector  # the kinds own their fields

    chip = spec.chip
    cal = chip.calibration
    p2p = chip.p2p
    return {
        "clock_hz": chip.clock_hz,
        "node_nm": chip.process_node_nm,
        **systolic.row(chip.unit("systolic_array")),
        **mactree.row(chip.unit("mac_tree")),
        **vector.row(chip.unit("vector_unit")),
        "sram_bytes": chip.sram.capacity_bytes,
        "sram_bw": chip.sram.bandwidth_bytes_per_s,
        "hbm_stacks": chip.hbm.stacks,
        "hbm_bw": chip.hbm.bandwidth_bytes_per_s,
        "hbm_bytes": chip.hbm.capacity_bytes,
        "hbm_gen": HBM_GENERATIONS.index(chip.hbm.generation),
        "p2p_links": p2p.links if p2p else 0,
        "p2p_bw": p2p.bandwidth_per_link_bytes_per_s if p2p else 1.0,
        "p2p_latency_s": p2p.latency_s if p2p else 0.0,
        "p2p_overlap": float(p2p.overlap_compute) if p2p else 0.0,
        "chips": spec.system.chips,
        "topology": TOPOLOGY_CODE[spec.system.topology],
        "supports": [float(p in chip.precisions) for p in PRECISIONS],
        "matrix_eff": cal.matrix_efficiency,
        "matrix_eff_8bit": cal.matrix_efficiency_8bit_scale,
        "overlap_exp": cal.overlap_exponent,
        "attention_eff": cal.attention_efficiency,
        "vector_eff": cal.vector_efficiency,
        "hbm_eff": cal.hbm_efficiency,
        "act_residency": cal.activation_residency,
        "elementwise_eff": cal.elementwise_efficiency,
        "kernel_overhead_s": cal.kernel_overhead_s,
        "min_kernel_s": cal.min_kernel_s,
        "allreduce_latency_s": cal.allreduce_latency_s,
        "allreduce_bw_eff": cal.allreduce_bandwidth_efficiency,
    }
