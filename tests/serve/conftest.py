"""Shared step models and request sets for the serving tests."""

from __future__ import annotations

import functools

import numpy as np

from ador.serve.api import default_step_model
from ador.serve.requests import RequestSet
from tests.conftest import hardware, model


@functools.lru_cache(maxsize=None)
def step(hw: str = "a100-sxm-80gb", m: str = "llama3-8b", tp: int = 1):
    return default_step_model(hardware=hardware(hw), model=model(m), tp=tp)


def poisson(n: int, rate: float, *, seed: int = 0, mean_in: int = 600, mean_out: int = 120,
            max_in: int = 3000, max_out: int = 600) -> RequestSet:
    rng = np.random.default_rng(seed)
    arr = np.cumsum(rng.exponential(1.0 / rate, n))
    p = np.clip(rng.lognormal(np.log(mean_in), 0.8, n).astype(int), 1, max_in)
    o = np.clip(rng.lognormal(np.log(mean_out), 0.8, n).astype(int), 1, max_out)
    return RequestSet(arrival_s=arr, prompt_tokens=p, output_tokens=o)
