"""Serving simulation: requests arriving over time, batched by a scheduler, on any design.

Iteration times come from a step-time model tabulated once per design from ador's cost
model (``build_step_model``); a discrete-event engine runs the scheduler (static, vLLM,
Sarathi-Serve, TensorRT-LLM) over a paged KV cache. ``estimate_serving`` is the
analytical estimate of the same serving figures for whole populations of designs.
"""

from ador.serve.api import simulate
from ador.serve.estimate import ServingEstimate, estimate_serving
from ador.serve.goodput import GoodputResult, find_capacity, find_goodput
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult
from ador.serve.steptime import StepModel, build_step_model
from ador.spec.scheduler import SchedulerConfig

__all__ = [
           "GoodputResult",
           "RequestSet",
           "SchedulerConfig",
           "ServingEstimate",
           "ServingResult",
           "StepModel",
           "build_step_model",
           "estimate_serving",
           "find_capacity",
           "find_goodput",
           "simulate",
]
