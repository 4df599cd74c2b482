"""ador: design-space exploration of LLM-serving accelerators.

An analytical cost model of heterogeneous-dataflow hardware (systolic arrays, MAC trees,
vector units, SRAM, HBM, chip-to-chip links) running decoder-only transformers, calibrated
GPU baselines, and multi-objective search for Pareto designs under SLOs and budgets.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "compare_designs", "evaluate_design", "explore", "load_run"]
_API = {"evaluate_design", "compare_designs", "explore"}


def __getattr__(name: str):
    # Imported on first use so that `import ador` stays light (no pandas, no plotly).
    if name == "load_run":
        from ador.report.run import load_run

        return load_run
    if name in _API:
        from ador import api

        return getattr(api, name)
    raise AttributeError(f"module 'ador' has no attribute {name!r}")
