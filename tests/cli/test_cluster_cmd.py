"""`ador cluster`: strict JSON, overrides reaching the policy, one-line errors."""

from __future__ import annotations

import json

import pytest


def strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"non-strict JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("cluster", ["colocated-2", "hetero-colocated", "pd-2p1d", "pd-hetero", "semi-pd",
                                     "adrenaline-1p1d", "accellm-pair"])
def test_every_example_cluster_runs(cli, cluster):
    res = cli("cluster", "-w", "fixed-512-512", "-c", cluster, "-n", "60", "--rate", "4",
              "--ttft-slo", "1s", "--tpot-slo", "100ms", "--json")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    assert data["num_requests"] == 60 and data["summary"]["completed"] == 60
    assert 0 <= data["summary"]["slo_attainment"] <= 1


def test_options_override_the_yaml(cli):
    res = cli("cluster", "-w", "fixed-512-512", "-c", "pd-2p1d", "--policy", "adrenaline",
              "--offload-ratio", "0", "--executor-share", "0.2", "-n", "40", "--rate", "4",
              "--json")
    data = strict(res.stdout)
    assert data["policy"] == "adrenaline" and data["limits"]["offload_ratio"] == 0.0
    assert data["cluster"]["adrenaline"]["executor_share"] == 0.2


def test_goodput_per_chip(cli):
    res = cli("cluster", "-w", "fixed-512-512", "-c", "pd-2p1d", "-n", "100",
              "--ttft-slo", "1s", "--tpot-slo", "100ms", "--goodput", "--json")
    g = strict(res.stdout)["goodput"]
    assert g["rate_per_s"] > 0
    assert g["rate_per_s_per_chip"] == pytest.approx(g["rate_per_s"] / 3)


@pytest.mark.parametrize("args,field", [
    (("-c", "pd-2p1d", "--policy", "adrenaline", "--offload-ratio", "2"), "--offload-ratio"),
    (("-c", "semi-pd", "--router", "foo"), "--router"),
    (("-c", "nope",), "cluster"),
    (("-c", "semi-pd", "--prefill-share", "0"), "--prefill-share"),
    ((), "--cluster"),
])
def test_bad_input_one_line_exit_2(cli, args, field):
    res = cli("cluster", "-w", "fixed-512-512", *args)
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and field in res.stderr
    assert "Traceback" not in res.stderr


def test_closed_loop_workload_refused(cli):
    res = cli("cluster", "-w", "closed-loop-16", "-c", "colocated-2")
    assert res.code == 2 and "concurrency" in res.stderr


def test_accellm_prefill_time_share_refused_roles_dynamic(cli, tmp_path):
    bad = tmp_path / "accellm.yaml"
    bad.write_text("policy: accellm\npool: {hardware: h100-sxm-80gb, count: 2}\n"
                   "accellm: {redundancy: 1.0, prefill_time_share: 0.3}\n")
    res = cli("cluster", "-w", "fixed-512-512", "-c", str(bad))
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert "accellm.prefill_time_share" in res.stderr and "dynamic" in res.stderr
