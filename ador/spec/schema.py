"""JSON Schemas of every spec kind, as people write the YAML (quantities as unit strings),
and the field reference generated from them.

Each field carries a ``description``, its unit (``x-unit``, the dimension of a quantity;
absent for plain numbers and text) and its ``default`` written as a person would (unit
strings for quantities); a field without a default is required.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ador.spec.hardware import HardwareSpec
from ador.spec.io import to_data
from ador.spec.model import ModelSpec
from ador.spec.problem import ProblemSpec
from ador.spec.quantities import _dimension
from ador.spec.scenario import ScenarioFile
from ador.spec.space import SpaceSpec
from ador.units import _expected, format_exact

KINDS: dict[str, type[BaseModel]] = {"hardware": HardwareSpec, "model": ModelSpec,
                                     "scenario": ScenarioFile, "space": SpaceSpec,
                                     "problem": ProblemSpec}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
QUANTITY_PATTERN = rf"^\s*{_NUMBER}\s*[^\d\s].*$"
_FIELD = re.compile(r"^\s{4}(\w+)\s*:[^#]*(?:#\s*(.*))?$")


def _field_dimension(annotation: Any, metadata: Any = ()) -> str | None:
    dim = _dimension(metadata)
    if dim is not None:
        return dim
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        return _field_dimension(base, meta)
    if origin in (Union, types.UnionType):
        for member in get_args(annotation):
            dim = _field_dimension(member)
            if dim is not None:
                return dim
    return None


def _quantity(dim: str) -> dict:
    return {"anyOf": [{"type": "string", "pattern": QUANTITY_PATTERN}, {"const": 0}]}


def _finite(data: Any) -> Any:
    """Strict JSON: non-finite floats as the text YAML reads back (``.inf``)."""
    if isinstance(data, float) and not math.isfinite(data):
        return ".nan" if data != data else (".inf" if data > 0 else "-.inf")
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    return data


def _comments(cls: type[BaseModel]) -> dict[str, str]:
    """Field -> the comment written beside it (or on the lines just above it) in the class
    source, the field's description where pydantic has none."""
    try:
        source = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    for line in source[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
            continue
        m = _FIELD.match(line)
        if m and m.group(1) in cls.model_fields:
            beside = (m.group(2) or "").strip()
            beside = "" if beside.startswith(("noqa", "type:")) else beside
            text = " ".join([*above, beside]).strip()
            if text:
                out[m.group(1)] = text
        above = []
    return out


def _default(value: Any, dim: str | None) -> Any:
    if isinstance(value, BaseModel):
        return _finite(to_data(value, exclude_none=True))
    if dim is not None and isinstance(value, (int, float)) and value:
        try:
            return format_exact(float(value), dim)
        except KeyError:
            return f"{value:g} {dim.replace('_per_', '/')}"
    if isinstance(value, list):
        return [to_data(v) if isinstance(v, BaseModel) else v for v in value]
    return _finite(getattr(value, "value", value))


def _models(cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model class reachable from ``cls``, by name."""
    found: dict[str, type[BaseModel]] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ in found:
                return
            found[annotation.__name__] = annotation
            for f in annotation.model_fields.values():
                visit(f.annotation)
            return
        for arg in get_args(annotation):
            visit(arg)

    visit(cls)
    return found


def _annotate(props: dict, cls: type[BaseModel]) -> None:
    comments = _comments(cls)
    for name, f in cls.model_fields.items():
        prop = props.get(name)
        if prop is None:
            continue
        dim = _field_dimension(f.annotation, f.metadata)
        optional = type(None) in get_args(f.annotation)
        if dim is not None:
            kept = {k: prop[k] for k in ("title",) if k in prop}
            prop.clear()
            prop.update(kept)
            q = _quantity(dim)
            prop["anyOf"] = [*q["anyOf"], {"type": "null"}] if optional else q["anyOf"]
            prop["x-unit"] = dim
        text = f.description or comments.get(name) or (
            f"{name.replace('_', ' ')} of the {cls.__name__}")
        prop["description"] = text + (f"; {_expected(dim)}" if dim else "")
        if f.default is not PydanticUndefined and f.default_factory is None:
            prop["default"] = _default(f.default, dim)
        elif f.default_factory is not None:
            prop["default"] = _default(f.default_factory(), dim)  # type: ignore[call-arg]


def json_schema(kind: str = "hardware") -> dict:
    """The JSON Schema (draft 2020-12) of spec ``kind`` (one of :data:`KINDS`)."""
    cls = KINDS[kind]
    schema = cls.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    for name, model in _models(cls).items():
        target = schema if model is cls else defs.get(name)
        if target is not None:
            _annotate(target.get("properties", {}), model)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"ador {kind} spec"
    return schema


def json_schema_text(kind: str = "hardware") -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False)


def reference_markdown() -> str:
    """The field reference of every spec kind (docs/spec-reference.md)."""
    lines = ["# Spec field reference", "",
             "Generated from the JSON Schemas (`ador spec schema --kind KIND`); do not edit "
             "by hand (`python -m ador.spec.schema > docs/spec-reference.md`). Quantities take "
             "a number and a unit; a field with no default is required.", ""]
    for kind, cls in KINDS.items():
        lines += [f"## {kind}", ""]
        for name, model in _models(cls).items():
            schema = json_schema(kind)
            target = schema if model is cls else schema.get("$defs", {}).get(name, {})
            props = target.get("properties", {})
            if not props:
                continue
            lines += [f"### {kind}: {name}", "", "| field | unit | default | description |",
                      "|---|---|---|---|"]
            for field, p in props.items():
                default = json.dumps(p["default"], ensure_ascii=False) if "default" in p \
                    else "required"
                desc = " ".join(str(p.get("description", "")).split()).replace("|", "\\|")
                lines.append(f"| `{field}` | {p.get('x-unit', '')} | "
                             f"{default.replace('|', chr(92) + '|')} | {desc} |")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown())
