"""Annotated pydantic types for quantities written with units.

Each type accepts a bare SI number or a string such as "3.35 TB/s" and stores the SI float.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from ador.errors import UnitError
from ador.units import parse_quantity


def _parser(dimension: str):
    def parse(value: object) -> object:
        try:
            return parse_quantity(value, dimension)
        except UnitError as err:
            # pydantic turns ValueError into a validation error carrying the field path.
            raise ValueError(err.rule) from None

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
