"""Die area of every design, by component, from transistor counts, bit cells and PHY sizes.

Logic (MAC arrays, vector lanes, control, network-on-chip ports, memory and link
controllers) is a transistor count divided by the logic density of the process node. SRAM
(local buffers, register files, the global buffer) is bits x bit-cell area / array
efficiency, where the efficiency depends on the macro size (CACTI-derived table). Analog
PHYs (HBM, SerDes, PCIe) do not shrink with the node and are taken per stack / lane.

Units are grouped into cores: a core holds at most one unit of each kind (a GPU SM is one
output-stationary matrix unit plus one vector unit), so a chip has
``max(sa_count, mt_count, vu_count)`` cores, each with control logic and a network-on-chip
port. Every vector unit has a register file.

Large dies ship with spare cores and memory slices that are fused off to harvest yield
(GA100: 128 SMs on the die, 108 enabled; 48 MB of L2, 40 MB enabled; 6 HBM PHYs, 5 used.
GH100: 144 SMs, 132 enabled on SXM5; 60 MB of L2, 50 MB enabled; 6 HBM PHYs, 5 used;
NVIDIA Ampere and Hopper whitepapers). The model adds such spares to every design, as a
component of its own, so that area is the physical die that a design's enabled units need.

Every constant is in :class:`AreaConstants` with its source. All functions are pure and
vectorized over designs: arrays of shape (n,).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ador.model.design import DesignArrays, precision_table
from ador.model.units import matrix_kinds
from ador.spec.precision import Precision

# Process nodes (nm) at which the tables below are given; other nodes interpolate in
# log(node) and clamp at the ends.
NODES_NM = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0, 16.0, 28.0)


@dataclass(frozen=True)
class AreaConstants:
    # Logic density, million transistors per mm², per NODES_NM entry.
    # 28..7 nm and 5 nm: "AI Chips: What They Are and Why They Matter" (Khan and Mann,
    # CSET 2020) as tabulated in LLMCompass (Zhang et al., ISCA 2024; cost_model/
    # supply_chain_model.py: 15.3, 28.9 (16/14), 52.5, 96.3, 138.2); 6 nm: 114.2
    # (LLMCompass cost_model.py). 4 nm: N5 x 1.06 (TSMC: N4 gives ~6 % more density than
    # N5). 3 nm: N5 x 1.6 (TSMC N3E: 1.6x logic density vs N5). 2 nm: N3E x 1.15 (TSMC N2:
    # >1.15x chip density vs N3E).
    logic_mtr_per_mm2: tuple[float, ...] = (254.3, 221.1, 146.5, 138.2, 114.2, 96.3, 52.5,
                                            28.9, 15.3)
    # Effective SRAM bit-cell area, mm² per bit, per NODES_NM entry. 7/6/5 nm: LLMCompass
    # cost_model.py (1.70e-7, 1.40e-7, 1.25e-7; calibrated so that with the efficiency
    # table below the A100's caches come out right). 4 nm and 3 nm (N3E) keep the N5
    # high-density cell (0.021 µm², no SRAM scaling: TSMC IEDM 2022); 2 nm: 0.0175 µm²
    # cell (TSMC N2, IEDM 2024) -> 1.25e-7 x 0.0175/0.021; 10/16/28 nm: N7 value scaled by
    # the HD bit cells 0.042 / 0.074 / 0.127 µm² over N7's 0.027 µm² (WikiChip).
    sram_bitcell_mm2: tuple[float, ...] = (1.04e-7, 1.25e-7, 1.25e-7, 1.25e-7, 1.40e-7,
                                           1.70e-7, 2.64e-7, 4.66e-7, 8.0e-7)
    # SRAM array efficiency by macro size 4 KiB, 8 KiB, ..., 512 KiB (CACTI-derived,
    # LLMCompass cost_model.py); larger memories are built of 512 KiB macros. Efficiency
    # is interpolated in log-log, which keeps area increasing with capacity.
    sram_macro_bytes: tuple[float, ...] = tuple(float(2**k) for k in range(12, 20))
    sram_efficiency: tuple[float, ...] = (0.076, 0.142, 0.247, 0.393, 0.559, 0.704, 0.526,
                                          0.602)
    # Register-file area per bit over the bit cell above, periphery included: the EMPIRE
    # register-file model used by LLMCompass (regfile_area.py) gives 0.391 mm² for
    # 16384 x 32-bit registers with 4 ports at 7 nm, against 64 KiB x 8 x 1.70e-7 =
    # 0.0891 mm² of bit cells -> 4.39.
    regfile_cell_factor: float = 4.39
    # Register file per vector unit: 65,536 x 32-bit registers per SM on GA100 and GH100
    # (Ampere and Hopper whitepapers).
    regfile_bytes_per_vector_unit: float = 256 * 1024
    # Transistors of one processing element (one FP16-rate MAC per cycle) supporting only
    # the given precision at its rate (RATE_VS_FP16 MACs per cycle). FP64 FPU = 685,300
    # transistors (LLMCompass, from Ariane and OpenPiton); floating-point formats scale by
    # (mantissa bits / 52)² (LLMCompass' rule): FP32 134,063; FP16 25,342; BF16 12,418;
    # FP8 (E4M3) 2,281 x 2 per PE. INT8: Horowitz (ISSCC 2014) 45 nm areas, 8-bit multiply
    # + 32-bit add = 419 µm² vs FP16 multiply + add = 3,000 µm² -> 0.14 x FP16 = 3,540
    # x 2 per PE; INT4: a third of INT8 x 4 per PE.
    pe_transistors: tuple[tuple[Precision, float], ...] = (
        (Precision.FP32, 134_063.0), (Precision.FP16, 25_342.0), (Precision.BF16, 12_418.0),
        (Precision.FP8, 4_562.0), (Precision.INT8, 7_080.0), (Precision.INT4, 4_720.0))
    # A multi-format PE is its widest format plus this share of each other format's PE
    # (formats share alignment, accumulation and pipeline registers). Model assumption.
    extra_format_share: float = 0.5
    # Vector lane: FP32 FMA (134,063) + INT32 ALU (177,690; LLMCompass, from Ariane).
    vector_lane_transistors: float = 311_753.0
    # Special-function unit per result per cycle (exp, rsqrt, sigmoid by table-driven
    # quadratic interpolation, Oberman and Siu, ARITH 2005): ~2 FP32 FPUs of multipliers
    # and adders plus tables. Model estimate.
    special_unit_transistors: float = 300_000.0
    # Control per core (instruction fetch, decode, warp schedulers, dispatch, address
    # generation): LLMCompass' NVIDIA per-sublane control of 725,650 transistors per lane
    # of a 32-wide sublane, 4 sublanes per SM (derived from the A100 SM) -> 92.9 M.
    control_transistors_per_core: float = 725_650.0 * 32 * 4
    # Network-on-chip (crossbar) port per core: LLMCompass' NVIDIA per-core communication
    # overhead, 55 M transistors (their A100 interconnect ~76 mm² for 128 SMs at 7 nm).
    noc_transistors_per_core: float = 55e6
    # HBM PHY, mm² per 1024-bit interface (does not shrink with the node): 10.45 mm²
    # (LLMCompass, HBM2e). HBM4 doubles the interface to 2048 bits (JEDEC JESD270-4).
    # Indexed like HBM_GENERATIONS: hbm2, hbm2e, hbm3, hbm3e, hbm4.
    hbm_phy_mm2: tuple[float, ...] = (10.45, 10.45, 10.45, 10.45, 20.9)
    # HBM controller per stack: 552.7 M transistors (LLMCompass, HBM2e).
    hbm_ctrl_transistors: float = 552.743e6
    # SerDes PHY area per lane: NVLink3 1.888 mm² per link of 4 x 50 Gb/s lanes and NVLink4
    # 0.965 mm² per link of 2 x 100 Gb/s lanes (LLMCompass) -> ~0.48 mm² per lane.
    serdes_mm2_per_lane: float = 0.48
    # Lane rate by node, per NODES_NM entry (Gb/s per direction): 50 G NRZ at 7 nm
    # (NVLink3, A100), 100 G PAM4 at 5/4 nm (NVLink4, H100), 200 G at 3/2 nm (224 G
    # SerDes of NVLink5 class); 25 G and below at older nodes.
    serdes_lane_gbps: tuple[float, ...] = (200.0, 200.0, 100.0, 100.0, 50.0, 50.0, 25.0,
                                           25.0, 10.0)
    # Link controller per link: NVLink3 74.6 M and NVLink4 86.6 M transistors (LLMCompass),
    # their mean.
    link_ctrl_transistors: float = 80.6e6
    # Host interface: PCIe 5.0 x16, 0.64 mm² PHY and 5.37 M controller transistors per lane
    # (LLMCompass).
    host_lanes: float = 16.0
    host_phy_mm2_per_lane: float = 0.64
    host_ctrl_transistors_per_lane: float = 5.3721e6
    # Yield-harvesting spares (see the module docstring): cores and the network ports that
    # go with them: the mean of GA100's 20/108 and GH100's 12/132; global buffer and HBM
    # interfaces: 8/40 MB and 10/50 MB of L2 and one HBM site in five on both.
    spare_core_fraction: float = 0.138
    spare_memory_fraction: float = 0.20

    def pe_transistor_table(self) -> np.ndarray:
        """Transistors per PE of each precision, indexed like design.PRECISIONS."""
        return precision_table(self.pe_transistors)


@dataclass(frozen=True)
class AreaBreakdown:
    """Die area in mm² per design and component; every field has shape (n,)."""

    matrix_units: np.ndarray  # systolic-array and MAC-tree PEs
    vector_units: np.ndarray  # vector lanes and special-function units
    register_files: np.ndarray
    local_buffers: np.ndarray  # per-unit SRAM of systolic arrays and MAC trees
    control: np.ndarray  # per-core instruction and scheduling logic
    global_buffer: np.ndarray
    network_on_chip: np.ndarray
    hbm_interface: np.ndarray  # PHY + controller per stack
    p2p_interface: np.ndarray  # SerDes PHY + controller per link
    host_interface: np.ndarray  # PCIe PHY + controller
    spares: np.ndarray  # fused-off yield-harvesting copies

    @property
    def total(self) -> np.ndarray:
        return sum((getattr(self, f.name) for f in fields(self)), np.zeros_like(self.spares))

    @property
    def cores(self) -> np.ndarray:
        """Area of the compute cores (units, their SRAM and control, without spares)."""
        return (self.matrix_units + self.vector_units + self.register_files
                + self.local_buffers + self.control)

    def components(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def node_value(*, node_nm: np.ndarray, table: tuple[float, ...]) -> np.ndarray:
    """A per-node table at each design's node, interpolated in log(node)."""
    x = np.log(np.asarray(NODES_NM))
    return np.interp(np.log(np.asarray(node_nm, dtype=np.float64)), x, np.asarray(table))


def logic_mm2(*, transistors: np.ndarray, node_nm: np.ndarray,
              c: AreaConstants = AreaConstants()) -> np.ndarray:
    return transistors / (node_value(node_nm=node_nm, table=c.logic_mtr_per_mm2) * 1e6)


def sram_mm2(*, capacity_bytes: np.ndarray, node_nm: np.ndarray,
             c: AreaConstants = AreaConstants()) -> np.ndarray:
    """Area of an SRAM of ``capacity_bytes``: bits x cell / efficiency of its macro size."""
    cap = np.asarray(capacity_bytes, dtype=np.float64)
    macro = np.clip(cap, c.sram_macro_bytes[0], c.sram_macro_bytes[-1])
    eff = np.exp(np.interp(np.log(macro), np.log(c.sram_macro_bytes),
                           np.log(c.sram_efficiency)))
    cell = node_value(node_nm=node_nm, table=c.sram_bitcell_mm2)
    return cap * 8.0 * cell / eff


def regfile_mm2(*, capacity_bytes: float, node_nm: np.ndarray,
                c: AreaConstants = AreaConstants()) -> np.ndarray:
    """Area of a multi-ported register file (periphery included in the cell factor)."""
    cell = node_value(node_nm=node_nm, table=c.sram_bitcell_mm2)
    return capacity_bytes * 8.0 * cell * c.regfile_cell_factor


def pe_transistors(*, designs: DesignArrays, c: AreaConstants = AreaConstants()) -> np.ndarray:
    """Transistors of one PE supporting all of a design's precisions."""
    per = designs.supports * c.pe_transistor_table()[None, :]
    widest = per.max(axis=1)
    return widest + c.extra_format_share * (per.sum(axis=1) - widest)


def cores(*, designs: DesignArrays) -> np.ndarray:
    """Cores per chip: units grouped so that a core holds at most one of each kind."""
    d = designs
    most = d.vu_count
    for k in matrix_kinds():
        most = np.maximum(k.count(d), most)
    return most


def area(*, designs: DesignArrays, c: AreaConstants = AreaConstants()) -> AreaBreakdown:
    """Area breakdown of every design."""
    d = designs
    node = d.node_nm
    kinds = matrix_kinds()
    pes = sum((k.macs_per_cycle(d) for k in kinds), np.zeros(d.n))
    vec_tr = d.vu_count * (d.vu_lanes * c.vector_lane_transistors
                           + d.vu_special_per_cycle * c.special_unit_transistors)
    n_cores = cores(designs=d)
    local = sum((k.count(d) * sram_mm2(capacity_bytes=k.local_buffer_bytes(d), node_nm=node, c=c)
                 for k in kinds), np.zeros(d.n))
    regfile = d.vu_count * regfile_mm2(capacity_bytes=c.regfile_bytes_per_vector_unit,
                                       node_nm=node, c=c)
    hbm_phy = np.asarray(c.hbm_phy_mm2)[d.hbm_gen.astype(int)]
    lanes = d.p2p_links * d.p2p_bw * 8.0 / (
        node_value(node_nm=node, table=c.serdes_lane_gbps) * 1e9)
    parts = {
        "matrix_units": logic_mm2(transistors=pes * pe_transistors(designs=d, c=c),
                                  node_nm=node, c=c),
        "vector_units": logic_mm2(transistors=vec_tr, node_nm=node, c=c),
        "register_files": regfile,
        "local_buffers": local,
        "control": logic_mm2(transistors=n_cores * c.control_transistors_per_core,
                             node_nm=node, c=c),
        "global_buffer": sram_mm2(capacity_bytes=d.sram_bytes, node_nm=node, c=c),
        "network_on_chip": logic_mm2(transistors=n_cores * c.noc_transistors_per_core,
                                     node_nm=node, c=c),
        "hbm_interface": d.hbm_stacks * (hbm_phy + logic_mm2(
            transistors=np.full(d.n, c.hbm_ctrl_transistors), node_nm=node, c=c)),
        "p2p_interface": lanes * c.serdes_mm2_per_lane + logic_mm2(
            transistors=d.p2p_links * c.link_ctrl_transistors, node_nm=node, c=c),
        "host_interface": c.host_lanes * (c.host_phy_mm2_per_lane + logic_mm2(
            transistors=np.full(d.n, c.host_ctrl_transistors_per_lane), node_nm=node, c=c)),
    }
    core_area = (parts["matrix_units"] + parts["vector_units"] + parts["register_files"]
                 + parts["local_buffers"] + parts["control"] + parts["network_on_chip"])
    spares = (c.spare_core_fraction * core_area
              + c.spare_memory_fraction * (parts["global_buffer"] + parts["hbm_interface"]))
    return AreaBreakdown(**parts, spares=spares)
