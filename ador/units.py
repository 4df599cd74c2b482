"""Parsing of human-written quantities into SI numbers.

Inside ador everything is SI: seconds, bytes, FLOPs, hertz, bytes per second, mm², watts.
People write "3.35 TB/s", "80 GB", "50 MiB", "1.83 GHz", "1 us"; this module turns those
into floats exactly once, at load time. Decimal prefixes (k, M, G, T, P) are powers of 1000
and binary prefixes (Ki, Mi, Gi, Ti) are powers of 1024: "80 GB" is 80e9 bytes and
"80 GiB" is 85.9e9 bytes. A bare number is taken as already being in the SI unit by
:func:`parse_quantity`; what people write is checked first (:func:`is_plain_number`) and a
bare number other than zero is refused there, since "clock_hz: 1.2" is far more likely
meant as GHz than as 1.2 Hz.
"""

from __future__ import annotations

import re

from ador.errors import UnitError

DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}
SMALL = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12}

# Dimension -> (base symbols, allowed prefixes).
_DIMENSIONS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "bytes": (("B",), {**DECIMAL, **BINARY}),
    "bytes_per_s": (("B/s", "Bps"), {**DECIMAL, **BINARY}),
    "hz": (("Hz",), DECIMAL),
    "s": (("s",), SMALL),
    "w": (("W",), {**SMALL, **DECIMAL}),
    "mm2": (("mm2", "mm^2", "mm²"), {"": 1.0}),
    "flops": (("FLOP/s", "FLOPS", "flops"), DECIMAL),
    "usd": (("$", "USD"), DECIMAL),
    "w_per_mm2": (("W/mm2", "W/mm^2", "W/mm²"), {**SMALL, **DECIMAL}),
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([^\d\s].*?)?\s*$")


def parse_quantity(value: object, dimension: str) -> float:
    """Convert ``value`` (a number or a string with a unit) to the SI unit of ``dimension``.

    >>> parse_quantity("3.35 TB/s", "bytes_per_s")
    3350000000000.0
    >>> parse_quantity("50 MiB", "bytes")
    52428800.0
    """
    if dimension not in _DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    if isinstance(value, bool):
        raise UnitError(f"expected a quantity in {_expected(dimension)}", value=value)
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise UnitError(f"expected a quantity in {_expected(dimension)}", value=value)
    match = _QUANTITY.match(value)
    if not match:
        raise UnitError(f"expected a number with a unit in {_expected(dimension)}", value=value)
    number = float(match.group(1))
    unit = (match.group(2) or "").strip()
    if number != number or abs(number) == float("inf"):
        raise UnitError("the number is too large", value=value)
    if not unit:
        return number
    return scale(number, _unit_factor(unit, dimension, value))


def scale(number: float, factor: float) -> float:
    """``number`` times a prefix ``factor``; small prefixes divide by their exact inverse
    (6.23 us is 6.23 / 1e6, the float nearest 6.23e-6, unlike 6.23 * 1e-6)."""
    if factor < 1:
        return number / round(1 / factor)
    return number * factor


def is_plain_number(value: object) -> bool:
    """True for a number written without a unit (``1.2``, ``"50"``, ``"1e9"``), zero
    excepted: zero is the same quantity in every unit."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match and not (match.group(2) or "").strip():
            try:
                return float(match.group(1)) != 0
            except OverflowError:
                return True
    return False


def plain_number_rule(dimension: str) -> str:
    """The message for a bare number in a field of ``dimension``."""
    return (f"a number without a unit is ambiguous here: write the unit, in "
            f"{_expected(dimension)}")


# Symbols and prefixes ador writes quantities with (largest prefix first).
_WRITTEN: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "bytes": ("B", (("Ti", 2.0**40), ("T", 1e12), ("Gi", 2.0**30), ("G", 1e9),
                    ("Mi", 2.0**20), ("M", 1e6), ("Ki", 2.0**10), ("k", 1e3), ("", 1.0))),
    "bytes_per_s": ("B/s", (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0))),
    "hz": ("Hz", (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0))),
    "s": ("s", (("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9), ("p", 1e-12))),
    "w": ("W", (("k", 1e3), ("", 1.0), ("m", 1e-3))),
    "mm2": ("mm2", (("", 1.0),)),
    "flops": ("FLOP/s", (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("", 1.0))),
    "usd": ("$", (("", 1.0),)),
}


def format_exact(value: float, dimension: str) -> str:
    """``value`` (SI) as a unit string that :func:`parse_quantity` reads back as exactly the
    same float: the shortest of the plain SI number ('6.23e-06 s') and the forms with a
    prefix that puts the number in 1..1000 (1.41e9 Hz -> '1.41 GHz', 67108864 B -> '64 MiB')."""
    symbol, prefixes = _WRITTEN[dimension]
    best: tuple[str, str] = (_number_text(value), "")
    for prefix, factor in prefixes:
        scaled = value * round(1 / factor) if factor < 1 else value / factor
        if not 1 <= abs(scaled) < 1000:
            continue
        text = _number_text(scaled)
        if scale(float(text), factor) == value and len(text) < len(best[0]):
            best = (text, prefix)
    return f"{best[0]} {best[1]}{symbol}"


def _number_text(x: float) -> str:
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _unit_factor(unit: str, dimension: str, original: str) -> float:
    symbols, prefixes = _DIMENSIONS[dimension]
    for symbol in symbols:
        if unit.endswith(symbol):
            prefix = unit[: len(unit) - len(symbol)]
            if prefix in prefixes:
                return prefixes[prefix]
    if dimension == "bytes" and unit.lower().endswith("bit"):
        raise UnitError("sizes are in bytes (B), not bits", value=original)
    raise UnitError(f"wrong or unknown unit '{unit}': expected {_expected(dimension)}",
                    value=original)


def _expected(dimension: str) -> str:
    examples = {
        "bytes": "bytes, e.g. '80 GB' (1e9) or '50 MiB' (2^20)",
        "bytes_per_s": "bytes per second, e.g. '3.35 TB/s'",
        "hz": "hertz, e.g. '1.41 GHz'",
        "s": "seconds, e.g. '2 us' or '0.5 ms'",
        "w": "watts, e.g. '700 W'",
        "mm2": "mm², e.g. '826 mm2'",
        "flops": "FLOP/s, e.g. '312 TFLOP/s'",
        "usd": "US dollars, e.g. '9346 $'",
        "w_per_mm2": "watts per mm², e.g. '0.8 W/mm2'",
    }
    return examples[dimension]


def format_quantity(value: float, unit: str, *, binary: bool = False, digits: int = 3) -> str:
    """Format an SI value with a prefix for display, e.g. 3.35e12 B/s -> '3.35 TB/s'."""
    if value == 0 or value != value:
        return f"{value:g} {unit}"
    if binary:
        steps = [("Ti", 2.0**40), ("Gi", 2.0**30), ("Mi", 2.0**20), ("Ki", 2.0**10), ("", 1.0)]
    elif abs(value) >= 1:
        steps = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)]
    else:
        steps = [("", 1.0), ("m", 1e-3), ("µ", 1e-6), ("n", 1e-9)]
    for prefix, factor in steps:
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {prefix}{unit}"
    prefix, factor = steps[-1]
    return f"{value / factor:.{digits}g} {prefix}{unit}"
