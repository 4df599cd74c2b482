"""Property-based fuzzing of spec files of every kind: a mutated file either loads or is
refused with one short line naming the file, quickly, with bounded memory; the CLI gives
exit code 2 and no traceback."""

from __future__ import annotations

import collections
import re
import resource
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, TEMPLATES, run_cli

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
        op = draw(st.sampled_from(["value"] * 5 + ["drop", "dup", "insert", "indent"]))
        line = lines[i]
        if op == "value" and ":" in line:
            key = line.split(":", 1)[0].rstrip()
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
    """``ador spec validate`` on one mutated file: it loads (exit 0) or is refused with one
    line of at most 500 characters that names the file (exit 2), in under a second of CPU
    time (CPU rather than wall-clock time, so that a busy machine does not fail the test)."""
    path.write_bytes(data)
    start = time.process_time()
    r = run_cli("spec", "validate", path)
    assert time.process_time() - start < 1.0
    assert "Traceback" not in r.stderr + r.stdout
    if r.code == 0:
        return "loaded"
    assert r.code == 2, (r.code, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 500, r.stderr
    assert lines[0].startswith(f"error: {path}"), lines[0]
    if "field '" in lines[0]:
        return "refused, naming a field"
    # no single field to blame: the place in the file, or what the whole file lacks
    assert re.search(r"lines? \d+|cannot tell the spec kind|expected a mapping", lines[0]), lines[0]
    return "refused, naming a line"


def run_fuzz(tmp_path_factory, n: int) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    COUNTS.clear()

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def one(case):
        kind, data = case
        COUNTS[(kind, check_one(folder / f"{kind}.yaml", data))] += 1

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    one()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 256 * 1024  # bounded memory: peak grows by less than 256 MiB
    total = sum(COUNTS.values())
    print("fuzz outcomes:", dict(sorted(COUNTS.items())), "total", total,
          f"peak memory grew {grown_kib / 1024:.0f} MiB")
    assert total >= n // 2
    refused = sum(c for (_, o), c in COUNTS.items() if o.startswith("refused"))
    named = sum(c for (_, o), c in COUNTS.items() if o == "refused, naming a field")
    assert named >= refused // 8  # the mutations reach the fields, not only the syntax
    outcomes = {o for _, o in COUNTS}
    assert outcomes == {"loaded", "refused, naming a line", "refused, naming a field"}


def test_fuzz_spec_files(tmp_path_factory):
    run_fuzz(tmp_path_factory, 80)  # the slow run below takes 3,000


@pytest.mark.slow
def test_fuzz_spec_files_long(tmp_path_factory):
    run_fuzz(tmp_path_factory, 3000)


def test_fuzzed_file_through_the_cli_is_one_line(cli, tmp_path):
    bad = TEXTS["hardware"].replace("clock_hz: 1.0 GHz", "clock_hz: [" + "1, " * 3000 + "]")
    path = tmp_path / "hw.yaml"
    path.write_text(bad)
    r = cli("evaluate", path)
    assert r.code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
