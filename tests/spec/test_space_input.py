"""Malformed design-space files: one line naming the file and the knob, exit 2."""

from __future__ import annotations

import pytest

KNOBS = [
    ("{name: 123, path: system.chips, type: choice, values: [1, 2]}", "knobs[0].name"),
    ("{name: [a], path: system.chips, type: choice, values: [1, 2]}", "knobs[0].name"),
    ('{name: "\\u00e9t\\u00e9", path: system.chips, type: choice, values: [1, 2]}',
     "[a-z][a-z0-9_]"),
    ("{name: c, path: system.chips, type: int, low: 1, high: .inf}", "finite"),
    ("{name: c, path: system.chips, type: real, low: 1, high: .inf}", "finite"),
    ("{name: c, path: chip.clock_hz, type: real, unit: hz, low: 1 GHz, high: 1e400 GHz}",
     "too large"),
    ("{name: c, path: system.chips, type: int, low: 1, high: 8, step: 0}", "positive"),
    ("{name: c, path: system.chips, type: int, low: 1, high: 8, step: 1e-300}",
     "too many levels"),
    ("{name: c, path: system.chips, type: choice, values: [.nan]}", "finite"),
    ("{name: c, path: system.chips, type: choice, values: []}", "at least 1"),
    ("{name: c, path: system.chips, type: choice, values: [1, a, {x: 1}]}", "mixes kinds"),
    ("{name: c, path: system.chips, type: choice, values: [1, [2]]}", "mixes kinds"),
    ("{name: c, path: chip.hbm, type: choice, values: [{generation: hbm3}, 3]}",
     "mixes kinds"),
]


@pytest.mark.parametrize("knob, fragment", KNOBS)
def test_bad_knob_is_one_line(cli, tmp_path, knob, fragment):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: ador-hetero\nknobs:\n  - {knob}\n")
    for args in (("spec", "validate", path),
                 ("sweep", path, "--out-dir", tmp_path / "out", "--no-progress")):
        r = cli(*args)
        assert r.code == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and len(lines[0]) < 400, r.stderr
        assert str(path) in lines[0] and "knobs[0]" in lines[0]
        assert fragment in lines[0]
    assert not (tmp_path / "out").exists()
