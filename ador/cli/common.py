"""Shared pieces of the CLI: consoles, scenario building, error exit."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

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
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")


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
