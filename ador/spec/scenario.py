"""A serving scenario: static batch, lengths, parallelism and precisions."""

from __future__ import annotations

from pydantic import model_validator

from ador.spec.base import Spec
from ador.spec.precision import Precision
from ador.spec.quantities import PositiveInt


class Scenario(Spec):
    """``batch`` requests start together, each with ``input_len`` prompt tokens and
    ``output_len`` generated tokens, on ``tp`` x ``pp`` chips."""

    batch: PositiveInt
    input_len: PositiveInt
    output_len: PositiveInt
    tp: PositiveInt = 1
    pp: PositiveInt = 1
    weight_precision: Precision = Precision.FP16
    activation_precision: Precision = Precision.FP16
    kv_precision: Precision = Precision.FP16

    @model_validator(mode="after")
    def _power_of_two_tp(self) -> Scenario:
        if self.tp & (self.tp - 1):
            raise ValueError(f"tp must be a power of two (got {self.tp})")
        return self

    @property
    def chips(self) -> int:
        return self.tp * self.pp

    @property
    def compute_precision(self) -> Precision:
        """Precision of the matrix datapath: the wider of weights and activations."""
        wide = max(self.weight_precision, self.activation_precision, key=lambda p: p.bytes)
        return wide

    @classmethod
    def uniform(cls, *, precision: Precision | str, **kwargs) -> Scenario:
        p = Precision(precision)
        return cls(weight_precision=p, activation_precision=p, kv_precision=p, **kwargs)


class ScenarioFile(Spec):
    """A scenario as stored in workloads/scenarios/: a model name plus the scenario."""

    name: str
    model: str
    scenario: Scenario
