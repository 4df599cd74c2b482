"""Property-based fuzzing of spec files of every kind: a mutated file either loads or is
refused with one short line naming the file, quickly, with bounded memory; the CLI gives
exit code 2 and no traceback."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ador.errors import AdorError
from ador.search.space import load_design_space
from ador.spec.io import validate_file
from ador.spec.space import SpaceSpec
from tests.conftest import ROOT, TEMPLATES

SEEDS = {
    "hardware": TEMPLATES / "ador-hetero.yaml",
    "gpu": TEMPLATES / "a100-sxm-80gb.yaml",
    "model": ROOT / "workloads" / "models" / "llama3-8b.yaml",
    "scenario": ROOT / "workloads" / "scenarios" / "chat-b16.yaml",
    "space": TEMPLATES / "spaces" / "ador-small.yaml",
    "problem": ROOT / "problems" / "ador-paper.yaml",
}
TEXTS = {kind: path.read_text() for kind, path in SEEDS.items()}
# Values that have broken parsers: units, types, YAML oddities, extremes.
ODD = ["1.2", "0", "-1", "1e400", ".inf", ".nan", "1" + "0" * 320, "2024-13-45", "!!int abc",
       "*x", "&x", "[", "{", "'", '"', "~", "null", "yes", "[1, a, {b: 1}]", "{}", "[]",
       "3.35 TB/s", "16 GiB", "1 GHz", "5 bits", "50", "abc", "\u00e9\u00e8", "\x00", "\t",
       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
       "x" * 5000, "[" + ", ".join(["1"] * 3000) + "]", "- a", ": b", "? c", "#", "%YAML 1.1"]
COUNTS: collections.Counter = collections.Counter()


@st.composite
def mutated(draw):
    kind = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[kind].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "drop", "dup", "insert", "bytes", "indent"]))
        line = lines[i]
        if op == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(ODD) | st.text(max_size=12))}"
        elif op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(ODD) | st.text(max_size=30)))
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + line.lstrip()
        if not lines:
            lines = [""]
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return kind, data


def check_one(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        spec = validate_file(path)
        if isinstance(spec, SpaceSpec):  # resolve the base and every level, as the CLI does
            load_design_space(path)
        outcome = "loaded"
    except AdorError as err:
        message = err.message()
        assert "\n" not in message and len(message) <= 500, message
        assert message.startswith(str(path)), message
        outcome = "refused"
    assert time.perf_counter() - start < 1.0
    return outcome


def run_fuzz(tmp_path_factory, n: int) -> None:
    folder = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def one(case):
        kind, data = case
        COUNTS[(kind, check_one(folder / f"{kind}.yaml", data))] += 1

    one()
    total = sum(COUNTS.values())
    assert total >= n // 2
    assert any(o == "refused" for _, o in COUNTS) and any(o == "loaded" for _, o in COUNTS)
    print("fuzz outcomes:", dict(sorted(COUNTS.items())), "total", total)


def test_fuzz_spec_files(tmp_path_factory):
    run_fuzz(tmp_path_factory, 300)


@pytest.mark.slow
def test_fuzz_spec_files_long(tmp_path_factory):
    run_fuzz(tmp_path_factory, 3000)


def test_fuzzed_file_through_the_cli_is_one_line(cli, tmp_path):
    bad = TEXTS["hardware"].replace("clock_hz: 1.0 GHz", "clock_hz: [" + "1, " * 3000 + "]")
    path = tmp_path / "hw.yaml"
    path.write_text(bad)
    r = cli("evaluate", path)
    assert r.code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
