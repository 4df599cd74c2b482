"""JSON Schemas of every spec kind accept the YAML people write; the field reference page is
generated from them and kept current."""

from __future__ import annotations

import json

import jsonschema
import pytest

from ador.spec.io import detect_kind, read_yaml
from ador.spec.schema import KINDS, json_schema, reference_markdown
from tests.conftest import ROOT

KIND_OF = {cls: kind for kind, cls in KINDS.items()}
ALL_YAML = sorted(p for p in ROOT.rglob("*.yaml")
                  if not {".venv", "results", ".git"} & set(p.relative_to(ROOT).parts))
# Serving workloads and clusters (workloads/serving, workloads/clusters) write rates and SLOs
# in their own notation and have no JSON Schema yet; every other kind is checked.
YAML = [p for p in ALL_YAML if detect_kind(read_yaml(p)) in KIND_OF]


def test_the_repository_has_yaml_of_every_kind():
    kinds = {KIND_OF.get(detect_kind(read_yaml(p))) for p in ALL_YAML}
    assert {"hardware", "model", "space", "problem"} <= kinds


@pytest.mark.parametrize("path", YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_validates_against_its_schema(path):
    data = read_yaml(path)
    kind = KIND_OF[detect_kind(data)]
    errors = list(jsonschema.Draft202012Validator(json_schema(kind)).iter_errors(data))
    assert not errors, f"{errors[0].json_path}: {errors[0].message}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_is_strict_json_with_description_unit_and_default(kind):
    schema = json.loads(json.dumps(json_schema(kind), allow_nan=False))
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = [schema, *schema.get("$defs", {}).values()]
    n = 0
    for obj in objects:
        required = set(obj.get("required", []))
        for name, prop in obj.get("properties", {}).items():
            n += 1
            assert prop.get("description"), (kind, name)
            assert "default" in prop or name in required, (kind, name)
            if name.endswith(("_hz", "_bytes", "_bytes_per_s", "_s", "_w", "_mm2")):
                assert prop.get("x-unit"), (kind, name)
    assert n > 3


def test_bare_numbers_in_quantities_are_refused_and_unit_strings_accepted():
    v = jsonschema.Draft202012Validator(json_schema("problem"))
    assert v.is_valid({"budgets": {"area_mm2": "814 mm2", "power_w": "700 W"}})
    assert not v.is_valid({"budgets": {"area_mm2": 814}})
    assert not v.is_valid({"slo": {"tpot_s": 0.05}})
    assert json_schema("problem")["properties"]["budgets"]["default"]["power_w"] == "700 W"


def test_reference_page_is_current():
    page = (ROOT / "docs" / "spec-reference.md").read_text(encoding="utf-8")
    assert page.rstrip("\n") == reference_markdown().rstrip("\n"), (
        "docs/spec-reference.md is stale: python -m ador.spec.schema > docs/spec-reference.md")


def test_cli_schema_of_every_kind(cli):
    for kind in KINDS:
        r = cli("spec", "schema", "--kind", kind)
        assert r.code == 0 and json.loads(r.stdout)["title"] == f"ador {kind} spec"
    r = cli("spec", "schema", "--kind", "gpu")
    assert r.code == 2 and "--kind" in r.stderr
