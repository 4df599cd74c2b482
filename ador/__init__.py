"""ador: design-space exploration of LLM-serving accelerators.

An analytical cost model of heterogeneous-dataflow hardware (systolic arrays, MAC trees,
vector units, SRAM, HBM, chip-to-chip links) running decoder-only transformers, calibrated
GPU baselines, and multi-objective search for Pareto designs under SLOs and budgets.
"""

__version__ = "0.1.0"
