"""Shared fixtures: the repository's specs, small design populations and a CLI runner."""

from __future__ import annotations

import contextlib
import functools
import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_hardware, load_model
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "hwtemplates"
WORKLOADS = ROOT / "workloads"
# Design-space files (search spaces), not hardware specs; they have their own tests.
SPACES = TEMPLATES / "spaces"

GPU_TEMPLATES = ("a100-sxm-80gb", "h100-sxm-80gb", "h200-sxm-141gb")
ADOR_TEMPLATES = ("ador-hetero", "ador-systolic", "ador-mactree")


@functools.lru_cache(maxsize=None)
def hardware(name: str) -> HardwareSpec:
    return load_hardware(name)


@functools.lru_cache(maxsize=None)
def model(name: str) -> ModelSpec:
    return load_model(name)


def designs(*names: str) -> DesignArrays:
    return DesignArrays.from_specs([hardware(n) for n in names])


def hardware_yaml_files() -> list[Path]:
    """Every hardware template, design-space files excluded."""
    return sorted(p for p in TEMPLATES.rglob("*.yaml") if SPACES not in p.parents)


def workload_yaml_files() -> list[Path]:
    return sorted(WORKLOADS.rglob("*.yaml"))


@pytest.fixture(scope="session")
def llama3_8b() -> ModelSpec:
    return model("llama3-8b")


@pytest.fixture(scope="session")
def llama3_70b() -> ModelSpec:
    return model("llama3-70b")


@pytest.fixture(scope="session")
def llama2_7b() -> ModelSpec:
    return model("llama2-7b")


@pytest.fixture(scope="session")
def hetero() -> HardwareSpec:
    return hardware("ador-hetero")


@pytest.fixture(scope="session")
def chat() -> Scenario:
    """The chat-b16 scenario: batch 16, 1024 prompt tokens, 256 generated."""
    return Scenario(batch=16, input_len=1024, output_len=256)


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """Run ``ador ARGS`` in this process through the console-script entry point."""
    from ador.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def ador_exe() -> str:
    """The installed ``ador`` console script (next to this interpreter)."""
    exe = Path(sys.executable).parent / "ador"
    if exe.exists():
        return str(exe)
    found = shutil.which("ador")
    if not found:
        pytest.skip("the ador console script is not installed")
    return found
