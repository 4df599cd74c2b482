"""Calibration: refitting on the shared operator data reproduces the stored parameters, and
the fitted model stays within its operator-level error budget."""

from __future__ import annotations

import math

import pytest

from ador.calibration.data import shared_dir
from tests.conftest import GPU_TEMPLATES, hardware

pytestmark = pytest.mark.skipif(
    not (shared_dir() / "validation" / "operators").is_dir(),
    reason="the shared operator measurements (../shared/validation/operators) are absent")


@pytest.fixture(scope="module")
def results():
    from ador.calibration.run import calibrate_all

    return {r.hardware: r for r in calibrate_all()}


@pytest.mark.slow
@pytest.mark.parametrize("name", GPU_TEMPLATES)
def test_refit_reproduces_stored_parameters(results, name):
    stored = hardware(name).chip.calibration.model_dump()
    fitted = results[name].calibration.model_dump()
    for key, value in stored.items():
        if key == "source":
            assert fitted[key] == value
        elif math.isinf(value):
            assert math.isinf(fitted[key]), key
        else:
            assert fitted[key] == pytest.approx(value, rel=2e-3, abs=1e-9), key


@pytest.mark.slow  # refits every GPU template (about 10 s)
@pytest.mark.parametrize("name", ["a100-sxm-80gb", "h100-sxm-80gb"])
def test_gemm_error_within_budget(results, name):
    errors = {e.op_type: e for e in results[name].errors}
    assert errors["gemm"].mape < 0.12
    assert errors["gemm"].rows > 1000


@pytest.mark.slow  # refits every GPU template (about 10 s)
def test_every_operator_type_is_reported(results):
    types = {e.op_type for e in results["a100-sxm-80gb"].errors}
    assert {"gemm", "elementwise", "norm", "embedding", "attention_prefill",
            "attention_decode", "allreduce"} <= types


@pytest.mark.slow  # refits every GPU template (about 10 s)
def test_fitted_efficiencies_are_physical(results):
    for r in results.values():
        c = r.calibration
        assert 0 < c.matrix_efficiency <= 1 and 0 < c.hbm_efficiency <= 1
        assert 0 < c.attention_efficiency <= 1
        assert c.kernel_overhead_s > 0


@pytest.mark.parametrize("name, shape, ceiling_tflops", [
    ("a100-sxm-80gb", (6912, 16384, 2048), 267.9),
    ("h100-sxm-80gb", (6144, 17920, 2816), 792.1),
])
def test_gemm_prediction_never_beats_the_measured_ceiling(name, shape, ceiling_tflops):
    """kernel_ceilings.csv: the best BF16 GEMM found by brute-force shape search. The model,
    fitted on ordinary shapes, must not claim more at that shape, and not far less."""
    import numpy as np

    from ador.model.design import DesignArrays
    from ador.model.opcost import op_cost
    from ador.workload.operators import MatMul, OpClass, Operator, Stage

    d = DesignArrays.from_specs([hardware(name)])
    m, n, k = shape
    op = Operator(name="gemm", op_class=OpClass.GEMM, stage=Stage.PREFILL,
                  matmuls=(MatMul(m=m, n=n, k=k),), weight_bytes=2.0 * n * k,
                  act_in_bytes=2.0 * m * k, act_out_bytes=2.0 * m * n)
    t = op_cost(d=d, op=op, rate=np.ones((1, 1)), tp=1).time[0, 0]
    achieved = op.matrix_flops / t / 1e12
    assert achieved <= ceiling_tflops
    assert achieved >= 0.75 * ceiling_tflops
