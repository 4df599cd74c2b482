"""Calibration of the GPU templates on measured per-operator kernel times."""

# Public modules (pandas and scipy load when one is imported).
__all__ = ["data", "fit", "predict", "report", "run"]
