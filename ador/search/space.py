"""A design space resolved against its base template: genome encoding and spec building.

Every knob is one gene. A discrete knob (int, choice, or real with a step) has levels
``0..L-1`` and its gene is the level index (a float rounded to the nearest index); a
continuous real knob's gene is its value. ``build`` turns a genome matrix into validated
:class:`HardwareSpec` objects (the base template updated field by field, then validated), so
that a saved design evaluates to exactly the numbers the search saw.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ador.errors import SpecError, UnitError
from ador.metrics import METRICS
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_hardware, load_space, space_path, spec_error_from
from ador.spec.problem import POOL_HARDWARE_DESIGN, ServingDeployment
from ador.spec.scheduler import SchedulerConfig
from ador.spec.space import (
    DEPLOYMENT_FIELDS,
    SCENARIO_TP,
    Knob,
    SpaceSpec,
    is_hardware_path,
    serving_field,
)
from ador.units import parse_quantity

MAX_LEVELS = 100_000
# Result columns of designs.csv a knob may not be named after ("tp" and "chips" may: the
# knobs of those names set exactly those values).
RESERVED = frozenset({"id", "generation", "batch", "feasible", "yaml"} | {
    m.column for m in METRICS if m.searched and m.column not in {"tp", "chips"}})


@dataclass(frozen=True)
class Domain:
    """The values one knob takes: ``levels`` (discrete) or ``low``..``high`` (continuous)."""

    knob: Knob
    levels: tuple[Any, ...] | None
    labels: tuple[str, ...] | None
    low: float = 0.0
    high: float = 0.0

    @property
    def discrete(self) -> bool:
        return self.levels is not None

    @property
    def size(self) -> int | None:
        return len(self.levels) if self.levels is not None else None

    @property
    def bounds(self) -> tuple[float, float]:
        if self.levels is not None:
            return -0.5 + 1e-9, len(self.levels) - 0.5 - 1e-9
        return self.low, self.high

    def value(self, gene: float) -> Any:
        if self.levels is None:
            return float(min(max(gene, self.low), self.high))
        return self.levels[self.index(gene)]

    def index(self, gene: float) -> int:
        return int(min(max(round(gene), 0), len(self.levels or ()) - 1))

    def label(self, gene: float) -> Any:
        """The value as written in designs.csv: numbers as numbers, mappings by label."""
        if self.levels is None:
            return self.value(gene)
        i = self.index(gene)
        return self.labels[i] if self.labels is not None else self.levels[i]


class DesignSpace:
    def __init__(self, spec: SpaceSpec, *, source: str, base: HardwareSpec,
                 base_file: str) -> None:
        self.spec = spec
        self.source = source
        self.base = base
        self.base_file = base_file
        self._base_data = base.model_dump(mode="json", exclude_none=True)
        self.domains = [_domain(k, i, source) for i, k in enumerate(spec.knobs)]
        self._cache: dict[tuple, HardwareSpec | SpecError] = {}
        for i, knob in enumerate(spec.knobs):
            for path in knob.paths:
                if is_hardware_path(path):
                    _check_path(self._base_data, path, file=source, knob=i)
        for i, knob in enumerate(spec.knobs):
            if knob.name in RESERVED:
                raise SpecError("knob name clashes with a result column of designs.csv",
                                file=source, field=f"knobs[{i}].name", value=knob.name)
        self.tp_knob = next((i for i, k in enumerate(spec.knobs)
                             if SCENARIO_TP in k.paths), None)
        # knobs of the serving scheduler: (gene index, SchedulerConfig fields)
        self.serving_knobs = [(i, [f for p in k.paths if (f := serving_field(p))])
                              for i, k in enumerate(spec.knobs)]
        self.serving_knobs = [(i, fs) for i, fs in self.serving_knobs if fs]
        for i, fields in self.serving_knobs:
            for level in self.domains[i].levels or (self.domains[i].low, self.domains[i].high):
                _check_serving_level(fields, level, file=source, knob=i,
                                     name=spec.knobs[i].name)
        for i, d in enumerate(self.domains):  # every level must give a valid spec alone
            for gene in _probe_genes(d):
                g = self.default_genome()
                g[i] = gene
                built = self._build_one(tuple(g))
                if isinstance(built, SpecError):
                    raise SpecError(f"value {d.label(gene)!r} of knob '{d.knob.name}' makes "
                                    f"the base template invalid: {built.rule}", file=source,
                                    field=f"knobs[{i}]", value=None)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.spec.knobs]

    @property
    def n_var(self) -> int:
        return len(self.domains)

    @property
    def xl(self) -> np.ndarray:
        return np.array([d.bounds[0] for d in self.domains])

    @property
    def xu(self) -> np.ndarray:
        return np.array([d.bounds[1] for d in self.domains])

    @property
    def discrete(self) -> np.ndarray:
        return np.array([d.discrete for d in self.domains])

    @property
    def size(self) -> float:
        """Number of distinct designs (inf when a knob is continuous)."""
        return math.prod(float(d.size) if d.size is not None else math.inf
                         for d in self.domains)

    def default_genome(self) -> list[float]:
        """The genome closest to the base template (first level where no match)."""
        genome = []
        for d in self.domains:
            current = _current(self._base_data, d.knob.paths[0])
            if d.levels is None:
                genome.append(float(min(max(float(current), d.low), d.high)))
            else:
                genome.append(float(next((i for i, v in enumerate(d.levels)
                                          if _same(v, current)), 0)))
        return genome

    def repair(self, X: np.ndarray) -> np.ndarray:
        """Round discrete genes to level indices and clip every gene to its bounds."""
        X = np.array(X, dtype=float, copy=True)
        disc = self.discrete
        X[:, disc] = np.round(X[:, disc])
        lo = np.array([0.0 if d.discrete else d.low for d in self.domains])
        hi = np.array([d.size - 1.0 if d.size is not None else d.high for d in self.domains])
        return np.clip(X, lo, hi)

    def grid(self) -> np.ndarray:
        """Every genome of a discrete space (row-major over the knobs)."""
        if not all(d.discrete for d in self.domains):
            knob = next(d.knob.name for d in self.domains if not d.discrete)
            raise SpecError(f"an exhaustive sweep needs discrete knobs; knob '{knob}' is a "
                            f"continuous real (give it a 'step')", file=self.source,
                            value=None)
        return np.array(list(itertools.product(*[range(d.size or 0) for d in self.domains])),
                        dtype=np.float64).reshape(-1, self.n_var)

    def tp(self, X: np.ndarray) -> np.ndarray | None:
        """Tensor-parallel degree per design, when the space has a ``scenario.tp`` knob."""
        if self.tp_knob is None:
            return None
        d = self.domains[self.tp_knob]
        return np.array([int(d.value(g)) for g in X[:, self.tp_knob]])

    def serving(self, X: np.ndarray) -> list[dict[str, Any]]:
        """The serving scheduler fields each genome row sets (empty without serving knobs)."""
        rows: list[dict[str, Any]] = [{} for _ in range(X.shape[0])]
        for i, fields in self.serving_knobs:
            d = self.domains[i]
            for r, g in enumerate(X[:, i]):
                value = d.value(g)
                rows[r].update(dict.fromkeys(fields, value))
        return rows

    def labels(self, X: np.ndarray) -> dict[str, list[Any]]:
        return {d.knob.name: [d.label(g) for g in X[:, i]] for i, d in enumerate(self.domains)}

    def build(self, X: np.ndarray) -> tuple[list[HardwareSpec], np.ndarray]:
        """Specs for each genome row; invalid rows get the base spec and ``valid`` False."""
        specs, valid = [], np.ones(X.shape[0], dtype=bool)
        for r, row in enumerate(X):
            built = self._build_one(tuple(float(g) for g in row))
            if isinstance(built, SpecError):
                valid[r] = False
                built = self.base
            specs.append(built)
        return specs, valid

    def spec_of(self, genome, *, name: str, description: str = "") -> HardwareSpec:
        built = self._build_one(tuple(float(g) for g in genome))
        if isinstance(built, SpecError):
            raise built
        return built.model_copy(update={"name": name, "description": description})

    def _build_one(self, genome: tuple) -> HardwareSpec | SpecError:
        key = tuple(self.domains[i].index(g) if self.domains[i].discrete else g
                    for i, g in enumerate(genome))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        data = copy.deepcopy(self._base_data)
        data["name"] = f"{self.name}-candidate"
        data["description"] = f"design from space {self.name}"
        for d, g in zip(self.domains, genome, strict=False):
            value = d.value(g)
            for path in d.knob.paths:
                if is_hardware_path(path):
                    _write(data, path, value)
        try:
            built: HardwareSpec | SpecError = HardwareSpec.model_validate(data)
        except ValidationError as err:
            built = spec_error_from(err, file=self.source)
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[key] = built
        return built


def load_design_space(name_or_path: str | Path) -> DesignSpace:
    """Load a space by name (hwtemplates/spaces) or path and resolve its base template."""
    path = space_path(name_or_path)
    spec = load_space(path)
    base_ref = spec.base
    candidate = Path(base_ref)
    if candidate.suffix in {".yaml", ".yml"} and not candidate.is_absolute():
        candidate = path.parent / candidate
        base_ref = str(candidate)
    try:
        base = load_hardware(base_ref)
    except SpecError as err:
        if err.file:
            raise
        raise SpecError(err.rule, file=str(path), field="base", value=spec.base) from None
    return DesignSpace(spec, source=str(path), base=base, base_file=base_ref)


def _domain(knob: Knob, i: int, source: str) -> Domain:
    field = f"knobs[{i}]"

    def q(value: Any, what: str) -> float:
        if knob.unit is None:
            try:
                return float(value)  # also "1e9", which YAML reads as a string
            except (TypeError, ValueError):
                raise SpecError(f"'{what}' must be a number (or give the knob a 'unit')",
                                file=source, field=f"{field}.{what}", value=value) from None
        try:
            return parse_quantity(value, knob.unit)
        except UnitError as err:
            raise SpecError(err.rule, file=source, field=f"{field}.{what}", value=value) \
                from None

    if knob.values is not None:
        levels = []
        for j, v in enumerate(knob.values):
            if isinstance(v, dict) or (knob.type == "choice" and knob.unit is None):
                levels.append(v)
                continue
            x = q(v, f"values[{j}]")
            if knob.type == "int":
                if x != int(x):
                    raise SpecError("an int knob takes whole numbers", file=source,
                                    field=f"{field}.values[{j}]", value=v)
                x = int(x)
            levels.append(x)
        labels = knob.labels
        if labels is None and any(isinstance(v, dict) for v in levels):
            labels = [_mapping_label(v) for v in levels]
        return Domain(knob, tuple(levels), tuple(labels) if labels else None)
    low, high = q(knob.low, "low"), q(knob.high, "high")
    if not high > low:
        raise SpecError("'high' must be greater than 'low'", file=source,
                        field=f"{field}.high", value=knob.high)
    if knob.type == "real" and knob.step is None:
        return Domain(knob, None, None, low=low, high=high)
    step = q(knob.step, "step") if knob.step is not None else 1.0
    if step <= 0:
        raise SpecError("'step' must be positive", file=source, field=f"{field}.step",
                        value=knob.step)
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > MAX_LEVELS:
        raise SpecError(f"too many levels ({float(count):.3g}); at most {MAX_LEVELS}",
                        file=source,
                        field=f"{field}.step", value=knob.step)
    if knob.type == "int":
        if low != int(low) or step != int(step):
            raise SpecError("an int knob needs whole-number low and step", file=source,
                            field=field, value=None)
        return Domain(knob, tuple(int(low) + j * int(step) for j in range(count)), None)
    return Domain(knob, tuple(round(low + j * step, 12) for j in range(count)), None)


def _same(level: Any, current: Any) -> bool:
    if isinstance(level, dict) and isinstance(current, dict):
        return all(current.get(k) == level[k] for k in ("generation", "kind") if k in level)
    return level == current


def _mapping_label(v: dict) -> str:
    for key in ("generation", "kind", "name"):
        if key in v:
            return str(v[key])
    return ",".join(f"{k}={v[k]}" for k in sorted(v))


def _current(data: dict, path: str) -> Any:
    """The base's value of a knob's field: the template's, tp 1, or the default
    scheduler's setting."""
    if path == SCENARIO_TP:
        return 1
    field = serving_field(path)
    if field in DEPLOYMENT_FIELDS:
        return getattr(ServingDeployment(), field)
    if field is not None:
        return getattr(SchedulerConfig(), field)
    return _read(data, path)


def _check_serving_level(fields: list[str], level: Any, *, file: str, knob: int,
                         name: str) -> None:
    """A serving knob's level must be a valid value of its scheduler or deployment fields
    (a pool's hardware: ``design`` or a hardware template that loads)."""
    deployment = [f for f in fields if f in DEPLOYMENT_FIELDS]
    try:
        ServingDeployment.model_validate(dict.fromkeys(deployment, level))
        SchedulerConfig.model_validate(dict.fromkeys(
            [f for f in fields if f not in DEPLOYMENT_FIELDS], level))
    except ValidationError as err:
        problem = err.errors()[0]
        raise SpecError(f"knob '{name}': value {level!r} is not a valid serving setting: "
                        f"{problem['msg']}",
                        file=file, field=f"knobs[{knob}]", value=None) from None
    if any(f.endswith("_hardware") for f in deployment) and level != POOL_HARDWARE_DESIGN:
        try:
            load_hardware(str(level))
        except SpecError as err:
            raise SpecError(f"value {level!r} of knob '{name}' is neither "
                            f"'{POOL_HARDWARE_DESIGN}' nor a "
                            f"hardware template that loads ({err.rule})", file=file,
                            field=f"knobs[{knob}]", value=None) from None


def _probe_genes(d: Domain) -> list[float]:
    if d.levels is None:
        return [d.low, d.high]
    return [float(i) for i in range(len(d.levels))]


def _container(data: dict, parts: list[str], *, create: bool = False):
    node: Any = data
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, list):
            node = next((u for u in node if isinstance(u, dict) and u.get("kind") == part), None)
        elif isinstance(node, dict):
            if part not in node and create and i == len(parts) - 1:
                return node
            node = node.get(part)
        else:
            node = None
        if node is None:
            return None
        i += 1
    return node


def _check_path(data: dict, path: str, *, file: str, knob: int) -> None:
    parts = path.split(".")
    parent = _container(data, parts[:-1])
    if not isinstance(parent, dict) or parts[-1] not in parent:
        raise SpecError(f"path '{path}' is not a field of the base template", file=file,
                        field=f"knobs[{knob}].path", value=path)


def _read(data: dict, path: str) -> Any:
    parts = path.split(".")
    parent = _container(data, parts[:-1])
    return parent.get(parts[-1]) if isinstance(parent, dict) else None


def _write(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    if parts[:2] == ["chip", "units"] and parts[-1] == "count" and value == 0:
        data["chip"]["units"] = [u for u in data["chip"]["units"] if u.get("kind") != parts[2]]
        return
    parent = _container(data, parts[:-1])
    if parent is None:
        return  # the unit group was removed by a count of 0
    if isinstance(value, dict):
        target = parent.get(parts[-1])
        parent[parts[-1]] = {**target, **value} if isinstance(target, dict) else dict(value)
    else:
        parent[parts[-1]] = value
