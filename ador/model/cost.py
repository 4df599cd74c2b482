"""Manufacturing cost of one chip: die, HBM and packaging, vectorized over designs.

Die cost = wafer cost / (dies per wafer x yield). Dies per wafer on a 300 mm wafer follow
the usual edge-loss formula; yield is negative binomial with cluster parameter 3. Defects
that land in yield-harvesting spares (see ador.model.area) are absorbed by fusing the
spare off, so yield is taken over the die area without spares. HBM is priced per GB by
generation; packaging is a fixed substrate, assembly and test cost plus a 2.5D interposer
cost per mm² of interposer (die plus HBM stack footprints).

Every constant is in :class:`CostConstants` with its source; all functions are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.area import node_value
from ador.model.design import DesignArrays


@dataclass(frozen=True)
class CostConstants:
    # 300 mm wafer price, USD, per area.NODES_NM entry (2, 3, 4, 5, 6, 7, 10, 16, 28 nm).
    # 28..5 nm: Khan and Mann, "AI Chips" (CSET 2020), as tabulated in LLMCompass
    # (supply_chain_model.py: 2,891 (28), 3,984 (16/14), 5,992 (10), 9,346 (7), 16,988 (5));
    # 6 nm priced as its 7 nm family and 4 nm as its 5 nm family; 3 nm ~20,000 and 2 nm
    # ~30,000: press reports of TSMC N3 and N2 wafer prices (estimates).
    wafer_usd: tuple[float, ...] = (30_000.0, 20_000.0, 16_988.0, 16_988.0, 9_346.0,
                                    9_346.0, 5_992.0, 3_984.0, 2_891.0)
    # Defect density per mm², per NODES_NM entry. 28..5 nm: LLMCompass
    # (supply_chain_model.py: 0.0005, 0.001, 0.0012, 0.0015, 0.002, from TSMC's public
    # defect-density slides); 6 nm as 7 nm, 4 and 3 nm as 5 nm; 2 nm 0.0025 (a young node,
    # estimate).
    defect_per_mm2: tuple[float, ...] = (0.0025, 0.002, 0.002, 0.002, 0.0015, 0.0015,
                                         0.0012, 0.001, 0.0005)
    # Negative-binomial cluster parameter (LLMCompass, after Cunningham's yield model).
    cluster: float = 3.0
    wafer_diameter_mm: float = 300.0
    # HBM price per GB, indexed like HBM_GENERATIONS. HBM2/HBM2e: 7 $/GB (LLMCompass,
    # DRAMeXchange 2023 spot average). HBM3 10, HBM3e 12, HBM4 15 $/GB: estimates after
    # analysts' reports of per-generation price premiums.
    hbm_usd_per_gb: tuple[float, ...] = (7.0, 7.0, 10.0, 12.0, 15.0)
    # Packaging: organic substrate, assembly and test per package (estimate), plus a 2.5D
    # silicon interposer priced per mm² so that an H100-class package (~2,000 mm² of
    # interposer) costs ~700 USD (industry analysts' CoWoS estimates, 2023).
    package_base_usd: float = 100.0
    interposer_usd_per_mm2: float = 0.30
    # Interposer area: die plus HBM stack footprints (~110 mm² per stack: 11 x 10 mm,
    # JEDEC HBM3 package outline), over a 0.8 placement fill.
    hbm_footprint_mm2: float = 110.0
    interposer_fill: float = 0.8


@dataclass(frozen=True)
class CostBreakdown:
    """USD per chip, per design; every field has shape (n,)."""

    die: np.ndarray
    hbm: np.ndarray
    packaging: np.ndarray
    dies_per_wafer: np.ndarray
    die_yield: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.die + self.hbm + self.packaging


def dies_per_wafer(*, area_mm2: np.ndarray, c: CostConstants = CostConstants()) -> np.ndarray:
    """Whole dies on a round wafer: wafer area / die area minus the edge loss."""
    d = c.wafer_diameter_mm
    a = np.asarray(area_mm2, dtype=np.float64)
    return np.maximum(np.pi * (d / 2) ** 2 / a - np.pi * d / np.sqrt(2.0 * a), 0.0)


def die_yield(*, area_mm2: np.ndarray, node_nm: np.ndarray,
              c: CostConstants = CostConstants()) -> np.ndarray:
    """Negative-binomial yield: (1 + A D / alpha) ** -alpha."""
    defects = node_value(node_nm=node_nm, table=c.defect_per_mm2)
    return (1.0 + area_mm2 * defects / c.cluster) ** (-c.cluster)


def chip_cost(*, designs: DesignArrays, area_mm2: np.ndarray, spare_mm2: np.ndarray,
              c: CostConstants = CostConstants()) -> CostBreakdown:
    """Cost of one packaged chip with its HBM; designs with no whole die per wafer cost inf."""
    d = designs
    dpw = dies_per_wafer(area_mm2=area_mm2, c=c)
    y = die_yield(area_mm2=area_mm2 - spare_mm2, node_nm=d.node_nm, c=c)
    wafer = node_value(node_nm=d.node_nm, table=c.wafer_usd)
    with np.errstate(divide="ignore"):
        die = np.where(dpw >= 1.0, wafer / (np.maximum(dpw, 1.0) * y), np.inf)
    hbm = d.hbm_bytes / 1e9 * np.asarray(c.hbm_usd_per_gb)[d.hbm_gen.astype(int)]
    interposer = (area_mm2 + d.hbm_stacks * c.hbm_footprint_mm2) / c.interposer_fill
    packaging = c.package_base_usd + c.interposer_usd_per_mm2 * interposer
    return CostBreakdown(die=die, hbm=hbm, packaging=packaging, dies_per_wafer=dpw,
                         die_yield=y)
