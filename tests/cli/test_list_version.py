"""`ador --version`, `ador list`, "did you mean" and case-insensitive names."""

from __future__ import annotations

import json

import pytest


def one_line(r) -> str:
    assert r.code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_version(cli):
    r = cli("--version")
    assert r.code == 0 and r.stdout.startswith("ador ")
    assert r.stdout.split()[1][0].isdigit()


def test_list_everything(cli):
    r = cli("list", "--json")
    assert r.code == 0
    data = json.loads(r.stdout)
    assert "a100-sxm-80gb" in data["templates"] and "llama3-8b" in data["models"]
    assert "ador-hetero" in data["spaces"] and "ador-paper" in data["problems"]
    text = cli("list").stdout
    assert "alias a100" in text and "problems" in text


def test_list_one_kind_and_a_bad_kind(cli):
    assert json.loads(cli("list", "models", "--json").stdout) == {
        "models": ["llama2-13b", "llama2-70b", "llama2-7b", "llama3-405b", "llama3-70b",
                   "llama3-8b", "mistral-7b"]}
    assert "unknown kind" in one_line(cli("list", "gpus"))


@pytest.mark.parametrize("hardware, model", [("H100", "llama3-8B"), ("A100-SXM-80GB", "LLAMA3-8B")])
def test_names_match_without_case(cli, hardware, model):
    r = cli("evaluate", hardware, "--model", model, "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["ttft_s"] > 0


@pytest.mark.parametrize("args, suggestion", [
    (("evaluate", "h10"), "did you mean 'h100'"),
    (("evaluate", "a100", "--model", "lama3-8b"), "did you mean 'llama3-8b'"),
    (("explore", "--space", "ador-hetro"), "did you mean 'ador-hetero'"),
])
def test_did_you_mean(cli, args, suggestion):
    assert suggestion in one_line(cli(*args))


@pytest.mark.parametrize("args, fragments", [
    (("evaluate", "a100", "--batch", "1e12"), ["--batch", "valid integer", "--help",
                                               "(got '1e12')"]),
    (("evaluate", "a100", "--batch", "abc"), ["--batch", "valid integer", "(got 'abc')"]),
    (("explore", "--pop-size=x"), ["--pop-size", "(got 'x')"]),
    (("evaluate", "a100", "--bogus"), ["--bogus"]),
    (("evaluate", "a100", "--batch", "1" + "0" * 309), ["batch", "integer too large"]),
    (("explore", "--batch", "1" + "0" * 309), ["batch", "integer too large"]),
    (("evaluate", "a100", "--pp", "33"), ["field 'pp'", "33 chips"]),
    (("evaluate", "a100", "--tp", "16"), ["field 'tp'", "16 chips"]),
    (("evaluate", "a100", "-i", "8000", "-o", "1000"), ["context length", "9000"]),
])
def test_bad_command_line_values_are_one_line(cli, args, fragments):
    line = one_line(cli(*args))
    assert "Usage" not in line
    for fragment in fragments:
        assert fragment in line


def test_help_shows_defaults(cli):
    text = " ".join(cli("evaluate", "--help").stdout.split())
    assert "default: 16" in text and "default: fp16" in text
    text = " ".join(cli("explore", "--help").stdout.replace("│", " ").split())
    for fragment in ("(default: 50 ms)", "(default: 0.5 s)", "(default: 814 mm2)",
                     "(default: 3.35 TB/s)", "(default: 128)", "(default: llama3-8b)",
                     "(default: ador-hetero)", "(default: 40)"):
        assert fragment in text, fragment


def test_explore_header_names_budgets_and_precision(cli, tmp_path):
    r = cli("explore", "--generations", "2", "--pop-size", "40", "--baselines", "none",
            "--out-dir", tmp_path, "--no-progress")
    assert r.code == 0, r.stderr
    text = " ".join(r.stdout.replace("│", " ").split())
    assert "area <= 814 mm²" in text and "HBM bandwidth <= 3.35 TB/s" in text
    assert "fp16" in text and "tp searched" in text
