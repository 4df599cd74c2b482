"""Every searched metric of :mod:`ador.metrics` for a population on one scenario, by column.

This is where the metric vocabulary meets the evaluator: performance from the vectorized
engine, efficiency from :mod:`ador.evaluate.efficiency`, and the design properties that
budgets constrain (per-chip bandwidths, tensor-parallel degree, chips per system).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from ador.evaluate.efficiency import efficiency
from ador.evaluate.results import PopulationResult
from ador.metrics import FITS_MEMORY, STATIC
from ador.model.design import DesignArrays
from ador.spec.scenario import Scenario


def scenario_columns(*, designs: DesignArrays, result: PopulationResult,
                     scenario: Scenario) -> dict[str, np.ndarray]:
    """Column -> values (shape (n,)) of every searched metric, in registry order."""
    d = designs
    computed = {
        "ttft_s": result.ttft,
        "tpot_s": result.tpot,
        "e2e_s": result.e2e,
        "throughput_tok_s": result.throughput,
        "throughput_per_chip_tok_s": result.throughput_per_chip,
        FITS_MEMORY.column: result.fits_memory.astype(float),
        "tp": np.full(d.n, float(scenario.tp)),
        "chips": d.chips.copy(),
        "hbm_bw_bytes_per_s": d.hbm_bw.copy(),
        "p2p_bw_bytes_per_s": d.p2p_links * d.p2p_bw,
        **asdict(efficiency(designs=d, result=result, scenario=scenario)),
    }
    return {m.column: np.asarray(computed[m.column], dtype=float) for m in STATIC}


__all__ = ["scenario_columns"]
