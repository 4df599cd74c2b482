"""Design-space search: spaces, the search problem, constraints, backends and run folders."""

# Public modules (pymoo, optuna and pandas load when one is imported).
__all__ = ["archive", "backends", "constraints", "explore", "hypervolume", "optuna_backend",
           "problem", "progress", "pymoo_backend", "runfolder", "space", "sweep"]
