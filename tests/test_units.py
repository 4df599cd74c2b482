"""Parsing of quantities with units: decimal vs binary prefixes, wrong units, bits, bare SI."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ador.errors import SpecError, UnitError
from ador.units import format_quantity, parse_quantity


@pytest.mark.parametrize("text, dimension, expected", [
    ("80 GB", "bytes", 80e9),
    ("80 GiB", "bytes", 80 * 2**30),
    ("50 MiB", "bytes", 50 * 2**20),
    ("64 MiB", "bytes", 67_108_864),
    ("2 KiB", "bytes", 2048),
    ("2 kB", "bytes", 2000),
    ("16GB", "bytes", 16e9),
    ("  1.5 TB ", "bytes", 1.5e12),
    ("3.35 TB/s", "bytes_per_s", 3.35e12),
    ("819.2 GB/s", "bytes_per_s", 819.2e9),
    ("1 GiB/s", "bytes_per_s", 2**30),
    ("1.41 GHz", "hz", 1.41e9),
    ("1 us", "s", 1e-6),
    ("0.5 ms", "s", 5e-4),
    ("700 W", "w", 700.0),
    ("826 mm2", "mm2", 826.0),
    ("312 TFLOP/s", "flops", 312e12),
    ("1e3 GB", "bytes", 1e12),
])
def test_units_parse_to_si(text, dimension, expected):
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-15)


def test_gb_and_gib_are_never_confused():
    gb, gib = parse_quantity("80 GB", "bytes"), parse_quantity("80 GiB", "bytes")
    assert gb == 80_000_000_000
    assert gib == 85_899_345_920
    assert gib / gb == pytest.approx(2**30 / 1e9)


@pytest.mark.parametrize("value, dimension", [
    (80, "bytes"), (80.5, "bytes"), ("80", "bytes"), ("3.35e12", "bytes_per_s"),
    ("1e-6", "s"), (1410000000, "hz"),
])
def test_bare_numbers_are_already_si(value, dimension):
    assert parse_quantity(value, dimension) == float(value)


@pytest.mark.parametrize("text, dimension", [
    ("3 GHz", "bytes"),  # a frequency is not a size
    ("3.35 TB/s", "bytes"),  # a bandwidth is not a size
    ("80 GB", "bytes_per_s"),  # a size is not a bandwidth
    ("1 ms", "hz"),
    ("1 GHz", "s"),
    ("1 ks", "s"),  # no large prefixes on seconds
    ("1 mB", "bytes"),  # milli-bytes make no sense
    ("80 gb", "bytes"),  # lowercase b is bits, not bytes
    ("80 GiHz", "hz"),  # binary prefixes are for bytes only
    ("80 furlongs", "bytes"),
    ("GB", "bytes"),  # no number
    ("", "bytes"),
    ("eighty GB", "bytes"),
    (None, "bytes"),
    ([80], "bytes"),
    (True, "bytes"),  # booleans are not numbers here
])
def test_wrong_units_are_rejected(text, dimension):
    with pytest.raises(UnitError):
        parse_quantity(text, dimension)


@pytest.mark.parametrize("text", ["8 Gbit", "64 Mbit", "1 kbit"])
def test_bits_are_rejected_with_a_hint(text):
    with pytest.raises(UnitError, match="bytes"):
        parse_quantity(text, "bytes")


def test_unit_error_is_a_spec_error_and_names_the_value():
    with pytest.raises(SpecError) as info:
        parse_quantity("3 GHz", "bytes")
    assert "3 GHz" in str(info.value)
    assert "GHz" in info.value.rule


def test_unknown_dimension_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_quantity("1 m", "metres")


@given(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_decimal_and_binary_prefixes_scale_exactly(x):
    assert parse_quantity(f"{x!r} GB", "bytes") == pytest.approx(x * 1e9, rel=1e-12)
    assert parse_quantity(f"{x!r} GiB", "bytes") == pytest.approx(x * 2**30, rel=1e-12)
    assert parse_quantity(f"{x!r} TB/s", "bytes_per_s") == pytest.approx(x * 1e12, rel=1e-12)


@pytest.mark.parametrize("value, unit, binary, text", [
    (3.35e12, "B/s", False, "3.35 TB/s"),
    (80 * 2**30, "B", True, "80 GiB"),
    (5e-3, "s", False, "5 ms"),
    (0.0, "s", False, "0 s"),
])
def test_format_quantity(value, unit, binary, text):
    assert format_quantity(value, unit, binary=binary) == text


def test_format_then_parse_round_trips():
    for value in (1.0, 2.5e3, 7.2e12, 123e9):
        text = format_quantity(value, "B", digits=12)
        assert math.isclose(parse_quantity(text, "bytes"), value, rel_tol=1e-12)
