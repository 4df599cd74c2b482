"""`ador evaluate`: one design, one scenario."""

from __future__ import annotations

from typing import Annotated

import typer

from ador.cli.common import build_scenario, console, memory_error, print_json
from ador.evaluate import evaluate, to_json
from ador.report.tables import evaluation_view
from ador.spec.io import load_hardware, load_model


def evaluate_cmd(
    hardware: Annotated[str, typer.Argument(help="hardware YAML path or template name")],
    model: Annotated[str, typer.Option("--model", "-m", help="model name or YAML path")] = "llama3-8b",
    batch: Annotated[int, typer.Option("--batch", "-b")] = 16,
    input_len: Annotated[int, typer.Option("--input-len", "-i")] = 1024,
    output_len: Annotated[int, typer.Option("--output-len", "-o")] = 256,
    tp: Annotated[int, typer.Option("--tp", help="tensor-parallel degree")] = 1,
    pp: Annotated[int, typer.Option("--pp", help="pipeline-parallel degree")] = 1,
    precision: Annotated[str, typer.Option("--precision", "-p",
                                           help="fp16, bf16, fp8 or int8 for weights, "
                                                "activations and KV cache")] = "fp16",
    kv_precision: Annotated[str | None, typer.Option(help="KV-cache precision if different")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    allow_overflow: Annotated[bool, typer.Option(
        help="report even when the model does not fit in HBM")] = False,
) -> None:
    """Evaluate a model on a hardware design: ttft, tpot, throughput, memory, utilisation."""
    hw = load_hardware(hardware)
    mdl = load_model(model)
    scenario = build_scenario(batch=batch, input_len=input_len, output_len=output_len, tp=tp,
                              pp=pp, precision=precision, kv_precision=kv_precision)
    result = evaluate(hardware=hw, model=mdl, scenario=scenario)
    if not result.fits_memory and not allow_overflow:
        raise memory_error(model=mdl.name, batch=batch, tokens=input_len + output_len,
                           needs_bytes=result.memory_bytes, hardware=hw.name,
                           capacity_bytes=result.memory_capacity_bytes)
    if as_json:
        print_json(to_json(result))
    else:
        console.print(evaluation_view(result))
