"""Validation of predictions against measured end-to-end figures."""
