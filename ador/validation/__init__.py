"""Validation of predictions against measured end-to-end figures."""

# Public modules.
__all__ = ["compare", "reference"]
