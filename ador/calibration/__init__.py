"""Calibration of the GPU templates on measured per-operator kernel times."""
