"""Design spaces: a base hardware template plus knobs that vary some of its fields.

A knob names a field of the base spec by a dotted ``path`` and the values it may take:

- ``int``: ``low`` .. ``high`` in steps of ``step`` (default 1), or an explicit ``values`` list;
- ``real``: ``low`` .. ``high``, continuous, or in steps of ``step``;
- ``choice``: an explicit ``values`` list (numbers, strings, or mappings merged into the
  field, e.g. a whole HBM generation: bandwidth, capacity and generation per stack).

Paths: ``chip.clock_hz``, ``chip.sram.capacity_bytes``, ``chip.hbm.stacks``, ``chip.hbm``
(mapping choices), ``chip.p2p.links``, ``system.chips``, ``chip.units.<kind>.<field>``
where ``<kind>`` is ``systolic_array``, ``mac_tree`` or ``vector_unit`` (a unit count of 0
removes that unit group), and ``scenario.tp``: the tensor-parallel degree the design is
evaluated at. ``serving.<field>`` varies the serving scheduler of a search with a serving
workload: ``serving.scheduler`` (vllm, sarathi, trtllm, ...), ``serving.chunk_tokens``,
``serving.max_num_seqs``, ``serving.max_batched_tokens`` and ``serving.memory_fraction``
(fields of ``ador.spec.scheduler.SchedulerConfig``), and the deployment
(``ador.spec.problem.ServingDeployment``): ``serving.policy`` (colocated, disaggregated,
semi_pd), ``serving.prefill_instances``, ``serving.decode_instances``,
``serving.prefill_hardware`` and ``serving.decode_hardware`` (``design`` or a hardware
template name), and semi-PD's worker shares ``serving.prefill_share`` and
``serving.decode_share`` (in (0, 1]). Quantities may
carry units when ``unit`` names their dimension (``bytes``, ``bytes_per_s``, ``hz``, ``s``, ``w``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ador.errors import short_repr
from ador.spec.base import Spec
from ador.spec.hardware import UNIT_KINDS
from ador.spec.quantities import dimension_at
from ador.units import is_plain_number, plain_number_rule

SCENARIO_TP = "scenario.tp"
SERVING_ROOT = "serving."
# serving knob path -> SchedulerConfig field (the scheduler's name is "serving.scheduler")
# (the settings ``ador serve`` takes as options, so that a design's run is one command)
SERVING_FIELDS = {"scheduler": "name", "chunk_tokens": "chunk_tokens",
                  "max_num_seqs": "max_num_seqs", "max_batched_tokens": "max_batched_tokens",
                  "memory_fraction": "memory_fraction"}
# serving knob paths of the deployment (fields of ``ador.spec.problem.ServingDeployment``)
DEPLOYMENT_FIELDS = ("policy", "prefill_instances", "decode_instances", "prefill_hardware",
                     "decode_hardware", "prefill_share", "decode_share")


def is_hardware_path(path: str) -> bool:
    """Whether a knob path names a field of the hardware template (not the scenario's
    tensor-parallel degree or a serving setting)."""
    return path != SCENARIO_TP and not path.startswith(SERVING_ROOT)


def serving_field(path: str) -> str | None:
    """The SchedulerConfig or ServingDeployment field a ``serving.*`` knob path sets (None
    for other paths)."""
    if not path.startswith(SERVING_ROOT):
        return None
    key = path.removeprefix(SERVING_ROOT)
    return key if key in DEPLOYMENT_FIELDS else SERVING_FIELDS.get(key)


class Knob(Spec):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
    # One field path, or several that all take the knob's value (e.g. rows and cols).
    path: str | Annotated[list[str], Field(min_length=1)]
    type: Literal["int", "real", "choice"]
    low: float | int | str | None = None
    high: float | int | str | None = None
    step: float | int | str | None = None
    values: Annotated[list[Any], Field(min_length=1)] | None = None
    labels: list[str] | None = None
    unit: Literal["bytes", "bytes_per_s", "hz", "s", "w"] | None = None
    description: str = ""

    @field_validator("path")
    @classmethod
    def _known_roots(cls, path: str | list[str]) -> str | list[str]:
        for p in [path] if isinstance(path, str) else path:
            _known_root(p)
        return path

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @model_validator(mode="after")
    def _domain(self) -> Knob:
        ranged = self.low is not None or self.high is not None
        if self.type == "choice":
            if self.values is None:
                raise ValueError("a choice knob needs 'values'")
            if ranged or self.step is not None:
                raise ValueError("a choice knob takes 'values', not low/high/step")
        elif self.values is None:
            if self.low is None or self.high is None:
                raise ValueError(f"an {self.type} knob needs 'low' and 'high' (or 'values')")
        elif ranged or self.step is not None:
            raise ValueError("give either 'values' or low/high/step, not both")
        if self.labels is not None and (self.values is None
                                        or len(self.labels) != len(self.values)):
            raise ValueError("'labels' needs one label per entry of 'values'")
        if self.values is not None and len(self.values) != len(
                {repr(v) for v in self.values}):
            raise ValueError("'values' has duplicates")
        _check_values(self)
        _check_units(self)
        return self


def _check_values(knob: Knob) -> None:
    """Levels are finite, and a choice list holds one kind of value."""
    for what in ("low", "high", "step"):
        value = getattr(knob, what)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"'{what}' must be a finite number (got {value})")
    if knob.values is None:
        return
    kinds = set()
    for v in knob.values:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"'values' must be finite numbers (got {v})")
        kinds.add("mapping" if isinstance(v, dict) else "text" if isinstance(v, str)
                  else "number" if isinstance(v, (int, float)) and not isinstance(v, bool)
                  else type(v).__name__)
    if len(kinds) > 1:
        raise ValueError(f"'values' mixes kinds of value ({', '.join(sorted(kinds))}); "
                         f"give all numbers, all text or all mappings")
    if kinds - {"mapping", "text", "number"}:
        raise ValueError(f"'values' must be numbers, text or mappings "
                         f"(got {', '.join(sorted(kinds))})")


def _check_units(knob: Knob) -> None:
    """A knob on a quantity field (``chip.clock_hz``) declares that field's unit and writes
    its levels with units, as spec files do: ``1.2`` is not read as 1.2 Hz."""
    from ador.spec.hardware import HardwareSpec

    for path in knob.paths:
        if not is_hardware_path(path):
            continue
        dim = dimension_at(HardwareSpec, path)
        if dim is not None and knob.unit != dim:
            raise ValueError(f"path '{path}' is a quantity: give the knob 'unit: {dim}' and "
                             f"write its values with units")
        for j, v in enumerate(knob.values or []):
            if isinstance(v, dict):
                for key, item in v.items():
                    sub = dimension_at(HardwareSpec, f"{path}.{key}")
                    if sub is not None and is_plain_number(item):
                        raise ValueError(f"values[{j}].{key}: {plain_number_rule(sub)} "
                                         f"(got {short_repr(item)})")
        if dim is None:
            continue
        levels = [("low", knob.low), ("high", knob.high), ("step", knob.step)] + [
            (f"values[{j}]", v) for j, v in enumerate(knob.values or [])]
        for what, value in levels:
            if is_plain_number(value):
                raise ValueError(f"{what}: {plain_number_rule(dim)} (got {short_repr(value)})")


def _known_root(path: str) -> None:
    if path.startswith(SERVING_ROOT):
        if serving_field(path) is None:
            raise ValueError(f"serving knob path '{path}' must be one of "
                             + ", ".join(SERVING_ROOT + k for k in (*SERVING_FIELDS,
                                                                    *DEPLOYMENT_FIELDS)))
        return
    if path != SCENARIO_TP and not path.startswith(("chip.", "system.")):
        raise ValueError(f"path '{path}' must start with 'chip.', 'system.' or "
                         f"'serving.', or be 'scenario.tp'")
    parts = path.split(".")
    if len(parts) >= 3 and parts[:2] == ["chip", "units"] and parts[2] not in UNIT_KINDS:
        raise ValueError(f"unit kind in '{path}' must be one of {', '.join(UNIT_KINDS)}")


class SpaceSpec(Spec):
    """A named design space: ``base`` is a template name or a YAML path (relative paths
    are taken from the space file's folder)."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    knobs: Annotated[list[Knob], Field(min_length=1, max_length=64)]

    @field_validator("knobs")
    @classmethod
    def _unique(cls, knobs: list[Knob]) -> list[Knob]:
        for attr in ("name", "path"):
            seen = [x for k in knobs for x in (k.paths if attr == "path" else [k.name])]
            dup = sorted({x for x in seen if seen.count(x) > 1})
            if dup:
                raise ValueError(f"knob {attr}s must be unique; repeated: {', '.join(dup)}")
        return knobs
