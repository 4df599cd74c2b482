"""Command-line interface."""

# The ``ador`` command lives in :mod:`ador.cli.main`.
__all__ = ["main"]
