"""`ador spec validate` on every spec kind; problem files naming unknown things."""

from __future__ import annotations

import pytest

from ador.errors import SpecError
from ador.spec.io import validate_file
from tests.conftest import ROOT, TEMPLATES


def test_validate_accepts_problems_and_spaces(cli):
    files = sorted((ROOT / "problems").glob("*.yaml")) + sorted(
        (TEMPLATES / "spaces").glob("*.yaml"))
    r = cli("spec", "validate", *files)
    assert r.code == 0, r.stderr
    assert "ProblemSpec" in r.stdout and "SpaceSpec" in r.stdout
    assert r.stdout.count("ok ") == len(files)


@pytest.mark.parametrize("text, field, fragment", [
    ("scenarios:\n  - model: llama9-1b\n", "scenarios[0].model", "unknown model"),
    ("space: nowhere\n", "space", "unknown design space"),
    ("baselines: [a100, b300]\n", "baselines[1]", "unknown hardware template"),
    ("scenarios:\n  - {model: llama2-7b, input_len: 4000, output_len: 512}\n",
     "scenarios[0].output_len", "context length"),
])
def test_problem_names_unknown_things_by_file_and_field(cli, tmp_path, text, field, fragment):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        validate_file(path)
    assert info.value.field == field and fragment in info.value.rule
    r = cli("explore", "--config", path, "--out-dir", tmp_path / "out", "--no-progress")
    assert r.code == 2
    line = r.stderr.strip()
    assert "\n" not in line and str(path) in line and field in line and fragment in line
    assert not (tmp_path / "out").exists()


def test_space_with_an_unknown_base(cli, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nbase: nothing\nknobs:\n  - {name: c, path: system.chips, "
                    "type: choice, values: [1, 2]}\n")
    r = cli("spec", "validate", path)
    assert r.code == 2 and "field 'base'" in r.stderr and str(path) in r.stderr
