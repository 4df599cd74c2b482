"""Design spaces: loading, bad input, genome decoding, specs that round-trip exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ador.errors import SpecError
from ador.model.design import DesignArrays
from ador.search.space import load_design_space
from ador.spec.hardware import HardwareSpec
from ador.spec.io import dump_yaml, validate_data
from tests.conftest import SPACES

SPACE_FILES = sorted(SPACES.glob("*.yaml"))


@pytest.mark.parametrize("path", SPACE_FILES, ids=lambda p: p.name)
def test_every_space_yaml_loads_and_builds(path):
    space = load_design_space(path)
    assert space.n_var == len(space.spec.knobs) >= 3
    rng = np.random.default_rng(0)
    X = space.repair(rng.uniform(space.xl, space.xu, size=(32, space.n_var)))
    specs, valid = space.build(X)
    assert len(specs) == 32 and valid.any()
    assert all(isinstance(s, HardwareSpec) for s in specs)


def test_default_genome_is_the_base_template(hetero_space):
    spec = hetero_space.spec_of(hetero_space.default_genome(), name=hetero_space.base.name,
                                description=hetero_space.base.description)
    assert spec == hetero_space.base


def test_knob_values_reach_the_spec(hetero_space):
    s = hetero_space
    g = s.default_genome()
    names = s.names
    g[names.index("sa_dim")] = 2.0  # 256
    g[names.index("hbm_gen")] = 2.0  # hbm3e
    g[names.index("mt_count")] = 0.0  # removes the MAC trees
    spec = s.spec_of(g, name="x")
    sa = spec.chip.unit("systolic_array")
    assert (sa.rows, sa.cols) == (256, 256)
    assert spec.chip.hbm.generation == "hbm3e"
    assert spec.chip.hbm.bandwidth_per_stack_bytes_per_s == pytest.approx(1228.8e9)
    assert spec.chip.unit("mac_tree") is None


def test_removing_every_matrix_unit_is_invalid_not_an_error(hetero_space):
    s = hetero_space
    g = s.default_genome()
    g[s.names.index("sa_count")] = 0.0
    g[s.names.index("mt_count")] = 0.0
    _, valid = s.build(np.array([g, s.default_genome()]))
    assert valid.tolist() == [False, True]


def test_sizes_and_grid(small_space):
    assert small_space.size == 17 * 9 * 8 * 3 * 4
    grid = small_space.grid()
    assert grid.shape == (small_space.size, 5)
    assert len({tuple(r) for r in grid}) == grid.shape[0]


def test_repair_rounds_and_clips(small_space):
    X = np.array([[-3.0, 2.4, 7.6, 99.0, 0.51]])
    R = small_space.repair(X)
    assert R.tolist() == [[0.0, 2.0, 7.0, 2.0, 1.0]]


def test_built_spec_dumped_and_reloaded_evaluates_identically(hetero_space):
    rng = np.random.default_rng(3)
    X = hetero_space.repair(rng.uniform(hetero_space.xl, hetero_space.xu, size=(20, hetero_space.n_var)))
    specs, _ = hetero_space.build(X)
    import yaml

    reloaded = [validate_data(HardwareSpec, yaml.safe_load(dump_yaml(s)), file="x")
                for s in specs]
    a, b = DesignArrays.from_specs(specs), DesignArrays.from_specs(reloaded)
    for name in a.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def write(tmp_path, text, name="space.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD_KNOB = "  - {name: sa, path: chip.units.systolic_array.count, type: int, low: 1, high: 4}\n"


@pytest.mark.parametrize("text,field,words", [
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.systolic_array.count"
     ", type: int, low: 1, high: 4, colour: red}\n"), "knobs[0].colour", "unknown key"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.systolic_array.size"
     ", type: int, low: 1, high: 4}\n"), "knobs[0].path", "not a field of the base"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.tpu.count"
     ", type: int, low: 1, high: 4}\n"), "knobs[0].path", "unit kind"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sr, path: chip.sram.capacity_bytes"
     ", type: choice, unit: bytes, values: [16 Mbit]}\n"), "knobs[0].values[0]", "bytes"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.systolic_array.count"
     ", type: int, low: 4, high: 1}\n"), "knobs[0].high", "greater than"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.systolic_array.count"
     ", type: int, low: -1, high: 4}\n"), "knobs[0]", "makes the base template invalid"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: sa, path: chip.units.systolic_array.count"
     ", type: choice}\n"), "knobs[0]", "needs 'values'"),
    ("name: s\nbase: nosuch-template\nknobs:\n" + GOOD_KNOB, "base", "unknown hardware"),
    ("name: s\nbase: ador-hetero\nknobs:\n" + GOOD_KNOB + GOOD_KNOB, "knobs", "unique"),
    ("name: s\nbase: ador-hetero\nknobs: [\n", None, "malformed YAML"),
    (("name: s\nbase: ador-hetero\nknobs:\n  - {name: area_mm2, path: system.chips, type: int,"
     " low: 1, high: 2}\n"), "knobs[0].name", "clashes"),
])
def test_bad_space_is_one_clear_error(tmp_path, text, field, words):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_design_space(path)
    err = info.value
    assert err.file == str(path)
    if field:
        assert err.field == field
    assert words in err.message()
    assert "\n" not in err.message()


def test_base_path_relative_to_the_space_file(tmp_path):
    (tmp_path / "hw").mkdir()
    base = load_design_space("ador-small").base
    (tmp_path / "hw" / "mine.yaml").write_text(dump_yaml(base.model_copy(update={"name": "mine"})))
    path = write(tmp_path, "name: s\nbase: hw/mine.yaml\nknobs:\n" + GOOD_KNOB)
    assert load_design_space(path).base.name == "mine"
