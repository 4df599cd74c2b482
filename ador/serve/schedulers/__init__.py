"""Batching policies, one module each, looked up by name."""

from ador.serve.schedulers.base import EngineState, Plan, Scheduler
from ador.serve.schedulers.sarathi import SarathiScheduler
from ador.serve.schedulers.static import StaticScheduler
from ador.serve.schedulers.trtllm import TrtllmScheduler, derive_limits
from ador.serve.schedulers.vllm import VllmScheduler

SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls for cls in (StaticScheduler, VllmScheduler, SarathiScheduler, TrtllmScheduler)
}

__all__ = ["SCHEDULERS", "EngineState", "Plan", "Scheduler", "derive_limits"]
