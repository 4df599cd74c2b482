"""Hardware spec language: a chip made of compute units and memories, and a system of chips.

A chip is described by its clock, supported precisions, process node and units:
systolic arrays, MAC trees, vector units, an on-chip SRAM (global buffer), HBM stacks and
peer-to-peer links. A system is N identical chips joined by a topology. GPUs are written in
the same language: each SM's tensor cores form one small output-stationary matrix unit, the
CUDA cores a vector unit, L2 the global buffer and NVLink the P2P links.

All fields are SI (suffix names the unit); YAML may use human strings such as "3.35 TB/s".
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ador.spec.base import Spec
from ador.spec.precision import Precision
from ador.spec.quantities import Bytes, BytesPerS, Fraction, Hertz, PositiveInt, Seconds, Watts


class Dataflow(str, Enum):
    WEIGHT_STATIONARY = "weight_stationary"
    OUTPUT_STATIONARY = "output_stationary"


class SystolicArray(Spec):
    """``count`` arrays of ``rows`` x ``cols`` processing elements, one MAC per PE per cycle.

    Weight-stationary: a rows(K) x cols(N) weight tile is pinned and activations stream through.
    Output-stationary: each array accumulates an output tile over the whole K dimension (or a
    1/split of it, up to ``max_split_k``); ``output_tiles`` lists the tile shapes a kernel
    library may pick from (default rows x cols), and the fastest is taken per GEMM. GPUs are
    written this way, with CTA tiles as output tiles, so that tile and wave quantisation over
    SMs and split-K for skinny GEMMs are modelled.
    """

    kind: Literal["systolic_array"]
    count: PositiveInt
    rows: PositiveInt
    cols: PositiveInt
    dataflow: Dataflow = Dataflow.WEIGHT_STATIONARY
    local_buffer_bytes: Bytes
    output_tiles: Annotated[list[tuple[PositiveInt, PositiveInt]], Field(max_length=6)] = []  # noqa: RUF012 (pydantic copies defaults)
    max_split_k: Annotated[int, Field(ge=1, le=16, strict=True)] = 1
    # Arrays that receive one global-buffer read of an operand tile together (broadcast /
    # multicast); Hopper's TMA multicast across a 2-SM thread-block cluster gives 2.
    operand_multicast: Annotated[int, Field(ge=1, le=16, strict=True)] = 1

    @model_validator(mode="after")
    def _tiles_only_for_output_stationary(self) -> SystolicArray:
        if self.dataflow is Dataflow.WEIGHT_STATIONARY and (self.output_tiles
                                                             or self.max_split_k > 1):
            raise ValueError("output_tiles and max_split_k apply to output_stationary arrays")
        return self


class MacTree(Spec):
    """``count`` MAC trees, each computing ``lanes`` dot products in parallel and reducing
    ``tree_width`` products per lane per cycle (DFX/LPU-style GEMV datapath)."""

    kind: Literal["mac_tree"]
    count: PositiveInt
    lanes: PositiveInt
    tree_width: PositiveInt
    local_buffer_bytes: Bytes | None = None


class VectorUnit(Spec):
    """``count`` SIMD units of ``lanes`` FP16 lanes (one op per lane per cycle) and
    ``special_ops_per_cycle`` special-function results (exp, rsqrt, sigmoid) per unit per cycle."""

    kind: Literal["vector_unit"]
    count: PositiveInt
    lanes: PositiveInt
    special_ops_per_cycle: PositiveInt


# The unit kinds a chip may hold: matrix units (one of them at least) and the vector unit.
ComputeUnit = Annotated[SystolicArray | MacTree | VectorUnit, Field(discriminator="kind")]
MATRIX_UNITS: tuple[type[Spec], ...] = (SystolicArray, MacTree)
UNIT_SPECS: tuple[type[Spec], ...] = (*MATRIX_UNITS, VectorUnit)


def kind_of(spec_class: type[Spec]) -> str:
    """The ``kind`` a unit spec class is written with in YAML."""
    return str(get_args(spec_class.model_fields["kind"].annotation)[0])


UNIT_KINDS: tuple[str, ...] = tuple(kind_of(c) for c in UNIT_SPECS)
MATRIX_UNIT_KINDS: tuple[str, ...] = tuple(kind_of(c) for c in MATRIX_UNITS)


class Sram(Spec):
    """On-chip global buffer (L2 on a GPU)."""

    capacity_bytes: Bytes
    bandwidth_bytes_per_s: BytesPerS


class Hbm(Spec):
    stacks: PositiveInt
    bandwidth_per_stack_bytes_per_s: BytesPerS
    capacity_per_stack_bytes: Bytes
    generation: Literal["hbm2", "hbm2e", "hbm3", "hbm3e", "hbm4"] = "hbm3"

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.stacks * self.bandwidth_per_stack_bytes_per_s

    @property
    def capacity_bytes(self) -> float:
        return self.stacks * self.capacity_per_stack_bytes


class P2P(Spec):
    """Chip-to-chip links; bandwidth is per link and per direction."""

    links: PositiveInt
    bandwidth_per_link_bytes_per_s: BytesPerS
    latency_s: Seconds = 1e-6
    kind: Literal["nvlink3", "nvlink4", "serdes"] = "serdes"
    # True when the link engine overlaps collectives with the producing GEMM in chunks
    # (LPU-style sync link); False for Megatron-style blocking all-reduce.
    overlap_compute: bool = False


class Calibration(Spec):
    """How far real kernels fall short of the ideal unit model.

    Defaults describe an idealised accelerator with a thin runtime; the GPU templates carry
    values fitted on measured kernels (``ador calibrate``), with ``source`` saying how.
    """

    matrix_efficiency: Fraction = 1.0
    # Matrix efficiency of 8-bit (fp8/int8) products relative to matrix_efficiency.
    matrix_efficiency_8bit_scale: Fraction = 1.0
    # Compute, global-buffer and HBM times of an operator combine as their k-norm with this
    # exponent k: infinity is perfect overlap (the largest alone); a finite k adds the cost
    # of imperfect overlap near the ridge point, where the parts are of similar size.
    overlap_exponent: Annotated[float, Field(ge=1)] = float("inf")
    attention_efficiency: Fraction = 1.0
    vector_efficiency: Fraction = 1.0
    # Achieved fraction of peak HBM bandwidth for streaming reads. 0.9 is a typical
    # measured ceiling for large copies on HBM2e/HBM3 parts (e.g. ~1.8 of 2.04 TB/s on A100).
    hbm_efficiency: Fraction = 0.9
    # Achieved fraction of peak HBM bandwidth in standalone elementwise kernels (norms,
    # RoPE, activation, residual adds, embedding gather); fused datapaths reach hbm_efficiency.
    elementwise_efficiency: Fraction = 0.9
    # Fraction of the global buffer that keeps activations on chip between operators.
    # A software-managed scratchpad can hold them (0.5: the other half stages weight
    # tiles); a hardware-managed GPU L2 loses them to the weight stream, so measured
    # elementwise kernels run at HBM speed (fitted per GPU by ador calibrate).
    activation_residency: Annotated[float, Field(ge=0, le=1)] = 0.5
    kernel_overhead_s: Seconds = 1e-6
    min_kernel_s: Seconds = 0.0
    allreduce_latency_s: Seconds = 0.0
    allreduce_bandwidth_efficiency: Fraction = 1.0
    source: str = "idealised defaults (no calibration)"


class Topology(str, Enum):
    RING = "ring"
    FULLY_CONNECTED = "fully_connected"
    SWITCH = "switch"


class Chip(Spec):
    clock_hz: Hertz
    process_node_nm: Annotated[int, Field(ge=2, le=28, strict=True)]
    precisions: Annotated[list[Precision], Field(min_length=1)]
    units: Annotated[list[ComputeUnit], Field(min_length=1)]
    sram: Sram
    hbm: Hbm
    p2p: P2P | None = None
    calibration: Calibration = Calibration()
    # Board power limit (W): above it the chip lowers its clock until it fits
    # (ador.model.board_power). None: no limit (power is reported, never capped).
    board_power_limit_w: Watts | None = None

    @model_validator(mode="after")
    def _unit_mix(self) -> Chip:
        kinds = [unit.kind for unit in self.units]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ValueError(f"at most one unit group of kind '{kind}' (use its count)")
        if not set(MATRIX_UNIT_KINDS) & set(kinds):
            raise ValueError(f"a chip needs at least one matrix unit "
                             f"({' or '.join(MATRIX_UNIT_KINDS)})")
        if kind_of(VectorUnit) not in kinds:
            raise ValueError("a chip needs a vector_unit for softmax, norms and activations")
        return self

    def unit(self, kind: str) -> SystolicArray | MacTree | VectorUnit | None:
        return next((u for u in self.units if u.kind == kind), None)


class System(Spec):
    chips: PositiveInt = 1
    topology: Topology = Topology.RING


class HardwareSpec(Spec):
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    chip: Chip
    system: System = System()

    @model_validator(mode="after")
    def _links_for_many_chips(self) -> HardwareSpec:
        if self.system.chips > 1 and self.chip.p2p is None:
            raise ValueError("a system of several chips needs chip.p2p links")
        return self
