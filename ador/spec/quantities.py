"""Annotated pydantic types for quantities written with units.

Each type accepts a string such as "3.35 TB/s" (or, from Python code, an SI float) and
stores the SI float. Input that people write (YAML files, command-line options) must carry
the unit: :func:`plain_number` finds a bare number in a dimensioned field before validation,
and :func:`with_units` writes a spec's quantities back as unit strings that parse to the
same floats.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Field

from ador.errors import UnitError
from ador.units import format_exact, is_plain_number, parse_quantity


def _parser(dimension: str):
    def parse(value: object) -> object:
        try:
            return parse_quantity(value, dimension)
        except UnitError as err:
            # pydantic turns ValueError into a validation error carrying the field path.
            raise ValueError(err.rule) from None

    parse.dimension = dimension  # type: ignore[attr-defined]
    return parse


Bytes = Annotated[float, BeforeValidator(_parser("bytes")), Field(gt=0, allow_inf_nan=False)]
BytesPerS = Annotated[float, BeforeValidator(_parser("bytes_per_s")),
                      Field(gt=0, allow_inf_nan=False)]
Hertz = Annotated[float, BeforeValidator(_parser("hz")), Field(gt=0, allow_inf_nan=False)]
Seconds = Annotated[float, BeforeValidator(_parser("s")), Field(ge=0, allow_inf_nan=False)]
Watts = Annotated[float, BeforeValidator(_parser("w")), Field(gt=0, allow_inf_nan=False)]
SquareMm = Annotated[float, BeforeValidator(_parser("mm2")), Field(gt=0, allow_inf_nan=False)]
WattsPerMm2 = Annotated[float, BeforeValidator(_parser("w_per_mm2")),
                       Field(gt=0, allow_inf_nan=False)]
Usd = Annotated[float, BeforeValidator(_parser("usd")), Field(gt=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0, strict=True)]
Fraction = Annotated[float, Field(gt=0, le=1)]


# --- dimensioned fields of a spec class -------------------------------------------------

Leaf = Callable[[Any, str, str], Any]  # (value, field path, dimension) -> new value


def _dimension(metadata: Any) -> str | None:
    for item in metadata or ():
        dim = getattr(getattr(item, "func", None), "dimension", None)
        if dim is not None:
            return str(dim)
    return None


def map_quantities(cls: type[BaseModel], data: Any, leaf: Leaf, path: str = "") -> Any:
    """``data`` (plain YAML-like data for ``cls``) with every value of a dimensioned field
    replaced by ``leaf(value, path, dimension)``; other values are kept as they are."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, value in data.items():
        field = cls.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            continue
        sub = f"{path}.{key}" if path else key
        dim = _dimension(field.metadata)
        if dim is not None:
            out[key] = leaf(value, sub, dim) if value is not None else value
        else:
            out[key] = _visit(field.annotation, value, leaf=leaf, path=sub)
    return out


def _visit(annotation: Any, value: Any, *, leaf: Leaf, path: str) -> Any:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        dim = _dimension(metadata)
        if dim is not None:
            return leaf(value, path, dim) if value is not None else value
        return _visit(base, value, leaf=leaf, path=path)
    if origin in (Union, types.UnionType):
        member = _member(get_args(annotation), value)
        return value if member is None else _visit(member, value, leaf=leaf, path=path)
    if origin is list and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        return [_visit(item, v, leaf=leaf, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return map_quantities(annotation, value, leaf, path)
    return value


def _member(members: tuple, value: Any) -> Any:
    """The member of a union that ``value`` is meant for: a model picked by its ``kind``,
    or the one member that is not None."""
    candidates = [m for m in members if m is not type(None)]
    models = [m for m in candidates if isinstance(m, type) and issubclass(m, BaseModel)]
    if isinstance(value, dict) and "kind" in value and models:
        for m in models:
            kind = m.model_fields.get("kind")
            if kind is not None and value["kind"] in _literals(kind.annotation):
                return m
        return None
    return candidates[0] if len(candidates) == 1 else None


def _literals(annotation: Any) -> tuple:
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def dimension_at(cls: type[BaseModel], path: str) -> str | None:
    """Dimension of the field at dotted ``path`` of ``cls`` (``chip.clock_hz`` -> ``hz``;
    unit groups by kind: ``chip.units.mac_tree.local_buffer_bytes``), None when it has none
    or no such field exists."""
    annotation: Any = cls
    for part in path.split("."):
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return None
        if isinstance(annotation, str):
            return annotation
        if isinstance(annotation, tuple):  # a field reached: (annotation, metadata)
            dim = _dimension(annotation[1])
            if dim is not None:
                return dim
            annotation = annotation[0]
    return _leaf_dimension(annotation)


def _leaf_dimension(annotation: Any) -> str | None:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        return _dimension(metadata) or _leaf_dimension(base)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        return _leaf_dimension(members[0]) if len(members) == 1 else None
    return None


def _unwrap(annotation: Any, part: str) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *metadata = get_args(annotation)
            dim = _dimension(metadata)
            if dim is not None:
                return None  # a quantity has no sub-fields
            annotation = base
        elif origin in (Union, types.UnionType):
            members = [m for m in get_args(annotation) if m is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            by_kind = [m for m in models if part in _literals(
                m.model_fields["kind"].annotation)] if all(
                "kind" in m.model_fields for m in models) and models else []
            if by_kind:
                return (by_kind[0], ())
            if len(members) != 1:
                return None
            annotation = members[0]
        elif origin is list:
            annotation = get_args(annotation)[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part)
        return None if field is None else (field.annotation, field.metadata)
    return None


def plain_number(cls: type[BaseModel], data: Any) -> tuple[str, Any, str] | None:
    """The first dimensioned field of ``data`` written as a bare number (``clock_hz: 1.2``),
    as (field path, value, dimension); zero is the same in every unit and is allowed."""
    found: list[tuple[str, Any, str]] = []

    def leaf(value: Any, path: str, dim: str) -> Any:
        if not found and is_plain_number(value):
            found.append((path, value, dim))
        return value

    map_quantities(cls, data, leaf)
    return found[0] if found else None


def with_units(cls: type[BaseModel], data: Any) -> Any:
    """``data`` with every SI number of a dimensioned field written as a unit string that
    parses back to the same float (``1.41e9`` -> ``'1.41 GHz'``)."""
    def leaf(value: Any, path: str, dim: str) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_exact(float(value), dim)
        return value

    return map_quantities(cls, data, leaf)

