"""Reading of reference measurements (CSV): one row per measured figure.

Format (documented with the validation data): id, source, hardware, model, precision, tp,
batch, input_len, output_len, metric, value, unit, notes. A file with a ``workload`` column
may also hold serving rows (a non-empty ``workload``: ``max_load`` or ``closed_loop``; see
``ador.validation.serving``); rows with an empty ``workload`` are static rows as above. A
malformed row is an error that names the file, the line, the column, the rule and the value.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator

from ador.errors import SpecError
from ador.spec.base import Spec
from ador.spec.io import spec_error_from
from ador.spec.precision import Precision
from ador.validation.serving import (
    SERVING_COLUMNS,
    ServingReferenceRow,
    check_unit,
    serving_row_data,
)

REQUIRED_COLUMNS = ("id", "source", "hardware", "model", "precision", "tp", "batch",
                    "input_len", "output_len", "metric", "value", "unit")
METRIC_UNITS = {
    "ttft": {"ms": 1e-3, "s": 1.0},
    "tpot": {"ms": 1e-3, "s": 1.0},
    "e2e_latency": {"ms": 1e-3, "s": 1.0},
    "static_throughput_per_gpu": {"tok/s": 1.0},
}
Metric = Literal["ttft", "tpot", "e2e_latency", "static_throughput_per_gpu"]
# The metric of ador.metrics each reference metric measures.
MEASURES = {"ttft": "ttft", "tpot": "tpot", "e2e_latency": "e2e",
            "static_throughput_per_gpu": "throughput_per_chip"}
PositiveInt = Annotated[int, Field(gt=0)]


T = TypeVar("T", bound=BaseModel)

class ReferenceRow(Spec):
    id: Annotated[str, Field(min_length=1)]
    source: str
    hardware: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]
    precision: Precision
    tp: PositiveInt
    batch: PositiveInt
    input_len: PositiveInt
    output_len: PositiveInt
    metric: Metric
    value: Annotated[float, Field(gt=0)]
    unit: str
    notes: str = ""

    @model_validator(mode="after")
    def _unit_matches_metric(self) -> ReferenceRow:
        check_unit(self.metric, self.unit, METRIC_UNITS[self.metric])
        return self


@contextmanager
def reference_csv(path: Path, *, required: Callable[[list[str]], Sequence[str]]
                  ) -> Iterator[csv.DictReader]:
    """A reference CSV's reader; ``required(header)`` names the columns it must have."""
    if not Path(path).exists():
        raise SpecError("reference file not found", file=str(path))
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in required(header) if c not in header]
        if missing:
            raise SpecError(f"missing column(s): {', '.join(missing)}", file=str(path),
                            field="header", value=",".join(header))
        yield reader


def read_reference(path: Path) -> list[ReferenceRow | ServingReferenceRow]:
    path = Path(path)
    with reference_csv(path, required=lambda header: SERVING_COLUMNS if "workload" in header
                       else REQUIRED_COLUMNS) as reader:
        serving = "workload" in (reader.fieldnames or [])
        rows: list = []
        seen: set[str] = set()
        for line, raw in enumerate(reader, start=2):
            raw = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
            cls: type[ReferenceRow] | type[ServingReferenceRow] = ReferenceRow
            if serving and raw.get("workload"):
                cls, data = ServingReferenceRow, serving_row_data(raw)
            else:
                data = {k: v for k, v in raw.items() if k in REQUIRED_COLUMNS or k == "notes"}
                data["notes"] = data.get("notes") or ""
            rows.append(row_from(cls, data, where=f"{path}:{line}", seen=seen))
    return rows


def row_from(cls: type[T], data: dict, *, where: str, seen: set[str]) -> T:
    """One CSV row as ``cls``: errors name ``where`` (file:line), the row's id and field;
    ids are unique in the file (``seen`` collects them)."""
    try:
        row = cls.model_validate(data)
    except ValidationError as err:
        error = spec_error_from(err, file=where)
        raise SpecError(error.rule, file=error.file,
                        field=f"{data.get('id') or 'row'}.{error.field}"
                        if error.field else data.get("id"), value=error.value) from None
    row_id = str(vars(row)["id"])
    if row_id in seen:
        raise SpecError("row ids must be unique", file=where, field="id", value=row_id)
    seen.add(row_id)
    return row
