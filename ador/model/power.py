"""Power and energy of every design: dynamic energy per operation and per byte, leakage.

Dynamic energy is counted per MAC (by precision and node, including the operand traffic
between a unit and its local buffer or register file), per vector-lane operation, per byte
of global buffer (array access plus network-on-chip wires), per bit of HBM (by generation)
and per bit sent over a P2P link. Leakage is proportional to die area. A share of the
compute units' peak power (clock distribution, latches) is drawn whenever a chip is busy,
whatever its units do. Board-level voltage regulation losses divide everything.

Peak power has every unit at its peak rate at once: matrix units at the precision that
draws most, vector lanes and special-function units, the global buffer, HBM and every link
at full bandwidth. It is the thermal design point the model compares with a GPU's TDP.

Every constant is in :class:`PowerConstants` with its source; reference energies are at
7 nm and scale with the node. Pure functions, vectorized over designs (arrays of shape (n,)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.area import node_value
from ador.model.design import PRECISIONS, DesignArrays, precision_table
from ador.model.units import matrix_kinds
from ador.spec.precision import BYTES_PER_ELEMENT, RATE_VS_FP16, Precision

PJ = 1e-12


@dataclass(frozen=True)
class PowerConstants:
    # Energy of one MAC at 7 nm, pJ: multiply + accumulate-add from Jouppi et al., "Ten
    # Lessons From Three Generations Shaped Google's TPUv4i" (ISCA 2021), Table 1 (7 nm):
    # FP32 1.31 + 0.38; FP16 0.34 + FP32 add 0.38; BF16 0.21 + 0.38; INT8 0.07 + INT32 add
    # 0.03. FP8 (not in the table): INT8-class multiply 0.07 + FP16-class add 0.16; INT4:
    # half of INT8. Model estimates for those two.
    mac_pj: tuple[tuple[Precision, float], ...] = (
        (Precision.FP32, 1.69), (Precision.FP16, 0.72), (Precision.BF16, 0.59),
        (Precision.FP8, 0.23), (Precision.INT8, 0.10), (Precision.INT4, 0.05))
    # Vector-lane operation at 7 nm: FP16 multiply 0.34 + add 0.16 (Jouppi 2021).
    vector_op_pj: float = 0.50
    # Operand traffic of a vector-lane operation: 3 reads + 1 write of 2-byte registers.
    vector_operand_bytes: float = 8.0
    # Special-function result (exp, rsqrt): ~3 FP32 multiply-adds of a quadratic
    # interpolation (Oberman and Siu, ARITH 2005) plus a table read. Model estimate.
    special_op_pj: float = 5.0
    # Small banked SRAM (register files, local buffers) read, pJ per byte at 7 nm:
    # 7.5 pJ per 64-bit read of an 8 KB SRAM (Jouppi 2021, Table 1).
    local_sram_pj_per_byte: float = 7.5 / 8
    # Global buffer array access, pJ per byte at 7 nm: 14 pJ per 64-bit read of a 1 MB
    # SRAM (Jouppi 2021, Table 1).
    global_sram_pj_per_byte: float = 14.0 / 8
    # On-chip wire energy, pJ per bit per mm (~0.15 pJ/bit/mm at 10-7 nm: Keckler et al.,
    # "GPUs and the Future of Parallel Computing", IEEE Micro 2011), with activity 0.5 on
    # random data; the mean core-to-slice distance is taken as a third of the die side
    # (the mean Manhattan distance of two uniform points in a square is 2/3 of its side,
    # and slices are spread over the die). Wire energy does not scale with the node.
    wire_pj_per_bit_mm: float = 0.15
    wire_activity: float = 0.5
    wire_distance_per_side: float = 1.0 / 3.0
    # HBM access energy, pJ per bit, indexed like HBM_GENERATIONS. HBM2/HBM2e 3.9 pJ/bit
    # (O'Connor et al., "Fine-Grained DRAM", MICRO 2017; within the 250-450 pJ per 64 bits
    # of HBM2 in Jouppi 2021). HBM3 / HBM3e / HBM4: about 15 %, 25 % and 40 % lower per
    # bit, after the vendors' generation-over-generation efficiency claims (approximate).
    hbm_pj_per_bit: tuple[float, ...] = (3.9, 3.9, 3.3, 2.9, 2.3)
    # Chip-to-chip SerDes, pJ per bit sent (TX + RX): ~5 pJ/bit for 50-112 Gb/s
    # long-reach SerDes (vendor IP figures for 112G LR PHYs). Model estimate.
    link_pj_per_bit: float = 5.0
    # Dynamic-energy scale of logic and SRAM by node, relative to 7 nm, per NODES_NM entry
    # (TSMC iso-speed power claims): N5 0.70 (-30 % vs N7); 4 nm 0.60, between N4 and N4P
    # (N4P -22 % vs N5); N3E 0.476 (-32 % vs N5); N2 0.343 (-28 % vs N3E); N6 0.95;
    # N10 1.67 (N7 -40 % vs N10); N16 2.78 (N10 -40 % vs N16); 28 nm 6.9 (16FF+ -60 %).
    energy_scale: tuple[float, ...] = (0.343, 0.476, 0.60, 0.70, 0.95, 1.0, 1.67, 2.78,
                                       6.9)
    # Leakage, W per mm² of die at operating temperature: static power of ~10-15 % of TDP
    # on 7-4 nm GPUs of ~800 mm² (model estimate).
    leakage_w_per_mm2: float = 0.06
    # Board voltage-regulator efficiency (typical multiphase VRMs at load ~90 %).
    regulator_efficiency: float = 0.90
    # Share of the compute units' peak dynamic power that does not follow activity (clock
    # distribution, pipeline latches, schedulers): clock networks alone draw ~20-40 % of
    # a high-performance processor's dynamic power (model estimate). Drawn while a chip
    # serves a request, whatever its units do; the rest scales with work.
    clock_fraction: float = 0.25

    def mac_table(self) -> np.ndarray:
        """pJ per MAC of each precision, indexed like design.PRECISIONS."""
        return precision_table(self.mac_pj)


@dataclass(frozen=True)
class PowerBreakdown:
    """Peak power in W per design and component; every field has shape (n,)."""

    matrix_units: np.ndarray
    vector_units: np.ndarray
    global_buffer: np.ndarray
    hbm: np.ndarray
    p2p: np.ndarray
    leakage: np.ndarray
    regulator_loss: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return (self.matrix_units + self.vector_units + self.global_buffer + self.hbm
                + self.p2p + self.leakage + self.regulator_loss)

    def components(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Energies:
    """Joules per event for every design (shape (n,)) at one precision."""

    mac: dict[str, np.ndarray]  # per matrix kind (ador.model.units), operand reads included
    vector_op: np.ndarray
    global_byte: np.ndarray
    hbm_byte: np.ndarray
    link_byte: np.ndarray


def _scale(designs: DesignArrays, c: PowerConstants) -> np.ndarray:
    return node_value(node_nm=designs.node_nm, table=c.energy_scale)


def mac_energy(*, designs: DesignArrays, precision: Precision,
               c: PowerConstants = PowerConstants()) -> dict[str, np.ndarray]:
    """Joules per MAC on each matrix kind, reads of its operands from its local buffer
    included (a kind's ``operand_reads_per_mac``)."""
    d = designs
    scale = _scale(d, c)
    mac = c.mac_table()[PRECISIONS.index(precision)] * scale
    local = c.local_sram_pj_per_byte * scale * BYTES_PER_ELEMENT[precision]
    return {k.name: (mac + k.operand_reads_per_mac(d) * local) * PJ for k in matrix_kinds()}


def energies(*, designs: DesignArrays, area_mm2: np.ndarray, precision: Precision,
             c: PowerConstants = PowerConstants()) -> Energies:
    d = designs
    scale = _scale(d, c)
    mac = mac_energy(designs=d, precision=precision, c=c)
    wire = (c.wire_pj_per_bit_mm * 8.0 * c.wire_activity * c.wire_distance_per_side
            * np.sqrt(area_mm2))
    return Energies(
        mac=mac,
        vector_op=(c.vector_op_pj + c.vector_operand_bytes * c.local_sram_pj_per_byte)
        * scale * PJ,
        global_byte=(c.global_sram_pj_per_byte * scale + wire) * PJ,
        hbm_byte=np.asarray(c.hbm_pj_per_bit)[d.hbm_gen.astype(int)] * 8.0 * PJ,
        link_byte=np.full(d.n, c.link_pj_per_bit * 8.0 * PJ),
    )


def leakage_w(*, area_mm2: np.ndarray, c: PowerConstants = PowerConstants()) -> np.ndarray:
    return area_mm2 * c.leakage_w_per_mm2


def peak_power(*, designs: DesignArrays, area_mm2: np.ndarray,
               c: PowerConstants = PowerConstants()) -> PowerBreakdown:
    """Power with every unit, memory and link at its peak rate (see the module docstring)."""
    d = designs
    matrix = np.zeros(d.n)
    for p in PRECISIONS:
        per_mac = mac_energy(designs=d, precision=p, c=c)
        macs_per_s = RATE_VS_FP16[p] * d.clock_hz
        kinds = matrix_kinds()
        per_cycle = kinds[0].macs_per_cycle(d) * per_mac[kinds[0].name]
        for k in kinds[1:]:
            per_cycle = per_cycle + k.macs_per_cycle(d) * per_mac[k.name]
        w = macs_per_s * per_cycle
        matrix = np.maximum(matrix, np.where(d.supports_precision(p), w, 0.0))
    e = energies(designs=d, area_mm2=area_mm2, precision=Precision.FP16, c=c)
    vector = d.vu_count * d.clock_hz * (d.vu_lanes * e.vector_op
                                        + d.vu_special_per_cycle * c.special_op_pj
                                        * _scale(d, c) * PJ)
    parts = dict(matrix_units=matrix, vector_units=vector,
                 global_buffer=d.sram_bw * e.global_byte, hbm=d.hbm_bw * e.hbm_byte,
                 p2p=d.p2p_links * d.p2p_bw * e.link_byte,
                 leakage=leakage_w(area_mm2=area_mm2, c=c))
    drawn = sum(parts.values())
    return PowerBreakdown(**parts, regulator_loss=drawn * (1.0 / c.regulator_efficiency - 1.0))
