"""Shared pieces of the CLI: consoles, scenario building, error exit."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

from ador.errors import InfeasibleError
from ador.spec.io import validate_data
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario

console = Console()
err_console = Console(stderr=True)


def build_scenario(*, batch: int, input_len: int, output_len: int, tp: int, pp: int,
                   precision: str, kv_precision: str | None) -> Scenario:
    """A scenario from command-line options, validated like a spec file."""
    data: dict[str, Any] = {"batch": batch, "input_len": input_len, "output_len": output_len,
                            "tp": tp, "pp": pp, "weight_precision": precision,
                            "activation_precision": precision,
                            "kv_precision": kv_precision or precision}
    return validate_data(Scenario, data, file="command line")


def print_json(obj: Any) -> None:
    """Strict JSON on stdout: a number that is not finite becomes ``null`` and the key
    ``<key>_null_reason`` beside it says why (``"infinite"``, ``"not a number"``)."""
    sys.stdout.write(json.dumps(strict_json(obj), indent=2, allow_nan=False) + "\n")


def strict_json(obj: Any) -> Any:
    """``obj`` as plain JSON data without NaN or Infinity (see :func:`print_json`)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            plain = strict_json(value)
            out[str(key)] = plain
            reason = _non_finite(value)
            if reason is not None:
                out[f"{key}_null_reason"] = reason
        return out
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return obj
    return strict_json(_default(obj))


def _non_finite(value: Any) -> str | None:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, (str, bool)) or math.isfinite(x):
        return None
    return "not a number" if x != x else "infinite"


def _default(o: Any) -> Any:
    if isinstance(o, Precision):
        return o.value
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def memory_error(*, model: str, batch: int, tokens: int, needs_bytes: float, hardware: str,
                 capacity_bytes: float) -> InfeasibleError:
    """The one-line refusal of a model that does not fit, shared by evaluate and compare."""
    from ador.units import format_quantity

    return InfeasibleError(
        f"{model} with batch {batch} x {tokens} tokens needs "
        f"{format_quantity(needs_bytes, 'B')} per chip but '{hardware}' has "
        f"{format_quantity(capacity_bytes, 'B')} of HBM (rule: weights + KV "
        f"cache + activations <= HBM capacity; raise --tp, lower --batch, or pass "
        f"--allow-overflow)", field="memory", value=None)
