"""explore's tables fit an 80-column terminal without cutting a cell; --wide shows all."""

from __future__ import annotations

import pytest

FAST = ["--space", "ador-hetero", "--pop-size", "20", "--generations", "3", "--no-progress"]


@pytest.mark.slow
def test_explore_tables_fit_80_columns_uncut(cli, tmp_path):
    r = cli("explore", *FAST, "--out-dir", tmp_path, "--objectives",
            "throughput_per_chip,tokens_per_s_per_mm2,tokens_per_j,energy_per_request")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "…" not in r.stdout  # no id or number cut short
    assert "d0" in r.stdout and "h200*" in r.stdout
    # every knob still shown, in as many tables as it takes
    for knob in ("sa_count", "mt_count", "hbm_stacks", "p2p_links"):
        assert knob in r.stdout


@pytest.mark.slow
def test_wide_shows_every_column(cli, tmp_path):
    r = cli("explore", *FAST, "--out-dir", tmp_path, "--wide", "--objectives",
            "throughput_per_chip,tokens_per_s_per_mm2,tokens_per_j,energy_per_request")
    assert r.code == 0, r.stderr
    header = next(line for line in r.stdout.splitlines() if "design" in line and "tpot" in line)
    for col in ("ttft", "tpot", "tok/s/chip", "tok/s/mm²", "tok/J", "J/req", "area mm²",
                "power W", "tp"):
        assert col in header, col
    assert "not shown at this width" not in r.stdout


def test_compare_and_evaluate_cut_nothing_at_80_columns(cli):
    for args in (("compare", "a100", "h100", "h200", "ador-hetero"), ("evaluate", "h100"),
                 ("area", "h100")):
        r = cli(*args)
        assert r.code == 0, r.stderr
        assert "…" not in r.stdout, args
        assert all(len(line) <= 80 for line in r.stdout.splitlines()), args
