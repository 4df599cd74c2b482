"""`--json` output is strict JSON: no NaN or Infinity, a reason beside each null."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np

from ador.cli.common import print_json


def strict_loads(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_values_become_null_with_a_reason():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_json({"ratio": float("inf"), "x": float("nan"), "ok": 1.5,
                    "arr": np.array([1.0, np.inf]), "n": np.float64("-inf"),
                    "rows": [{"ttft_s": float("nan")}]})
    data = strict_loads(out.getvalue())
    assert data["ratio"] is None and data["ratio_null_reason"] == "infinite"
    assert data["x"] is None and data["x_null_reason"] == "not a number"
    assert data["n"] is None and data["n_null_reason"] == "infinite"
    assert data["ok"] == 1.5 and "ok_null_reason" not in data
    assert data["arr"] == [1.0, None]
    assert data["rows"][0]["ttft_s"] is None


def test_cli_json_parses_strictly(cli):
    for args in (("evaluate", "a100", "--json"), ("compare", "a100", "h100", "--json"),
                 ("area", "ador-hetero", "--json")):
        r = cli(*args)
        assert r.code == 0, r.stderr
        strict_loads(r.stdout)
