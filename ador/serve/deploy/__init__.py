"""Deployment of a model's layers onto devices (UELLM's HELR)."""

from ador.serve.deploy.helr import Placement, helr_place, layer_costs

__all__ = ["Placement", "helr_place", "layer_costs"]
