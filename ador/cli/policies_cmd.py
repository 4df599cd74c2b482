"""`ador policies`: which hardware each serving policy favours (goodput per chip of every
policy on every hardware choice at the same chip count), written to a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ador.cli.common import console, print_json


def _names(text: str | None, option: str) -> list[str] | None:
    from ador.errors import SpecError

    if text is None:
        return None
    names = [p.strip() for p in text.split(",")]
    if not all(names):
        raise SpecError("a comma-separated list without empty entries", field=option,
                        value=text)
    return names


def _fractions(text: str) -> list[float]:
    from ador.errors import SpecError

    try:
        return [float(p) for p in _names(text, "--rates") or []]
    except ValueError:
        raise SpecError("fractions of the goodput, e.g. '0.5,0.8,1,1.2'", field="--rates",
                        value=text) from None


def policies_cmd(
    workload: Annotated[str, typer.Option(
        "--workload", "-w", help="serving workload: a name in workloads/serving or a YAML "
                                 "path (its lengths and arrival pattern; rates are searched)")],
    hardware: Annotated[str | None, typer.Option(
        "--hardware", help="comma-separated hardware choices, each NAME (every chip) or "
                           "PREFILL+DECODE (two-pool policies only) (default: a100,h100,h200,"
                           "ador-hetero,ador-systolic+ador-mactree)")] = None,
    policy: Annotated[str | None, typer.Option(
        "--policy", help="comma-separated: colocated, disaggregated, adrenaline, semi_pd, "
                         "accellm (default: all)")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="model name or YAML path")
                     ] = "llama3-8b",
    chips: Annotated[int, typer.Option(help="chips per configuration (a multiple of 2 x tp: "
                                            "two-pool policies split them half and half)")
                     ] = 2,
    tp: Annotated[int, typer.Option(help="tensor-parallel degree of every instance")] = 1,
    ttft_slo: Annotated[str | None, typer.Option(help="TTFT SLO with unit, e.g. '500ms' "
                                                      "(default: the workload's)")] = None,
    tpot_slo: Annotated[str | None, typer.Option(help="TPOT SLO with unit, e.g. '50ms' "
                                                      "(default: the workload's)")] = None,
    attainment: Annotated[float, typer.Option(help="share of requests meeting both SLOs "
                                                   "for goodput")] = 0.9,
    rates: Annotated[str, typer.Option(help="rates simulated for the figures, as fractions "
                                            "of each goodput")] = "0.5,0.8,1,1.2",
    num_requests: Annotated[int | None, typer.Option("--num-requests", "-n", min=1)] = None,
    seed: Annotated[int | None, typer.Option(min=0)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for the run folder")
                   ] = Path("results"),
    name: Annotated[str | None, typer.Option(help="run folder name before the timestamp "
                                                  "(default: policies-WORKLOAD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Goodput per chip of every serving policy (colocated, PD disaggregation, Adrenaline,
    semi-PD, AcceLLM) on every hardware choice at the same chip count, and latency, pool
    use and KV occupancy around each goodput; 'ador report FOLDER' draws the figures."""
    progress = None
    if not as_json:
        def progress(p) -> None:
            console.print(f"  {p.policy} on {p.hardware}: {p.goodput_per_chip_per_s:.3g} requests/s "
                          f"per chip ({p.simulations} simulations)", highlight=False)
    from ador.serve.policy_run import run_policy_comparison

    grid, folder = run_policy_comparison(
        workload=workload, model=model, hardware=_names(hardware, "--hardware"),
        policies=_names(policy, "--policy"), chips=chips, tp=tp, ttft_slo=ttft_slo,
        tpot_slo=tpot_slo, attainment=attainment, rate_fractions=_fractions(rates),
        overrides={"num_requests": num_requests, "seed": seed}, out_dir=out, name=name,
        progress=progress)
    if as_json:
        print_json({"folder": str(folder), "model": grid.model,
                    "num_requests": grid.num_requests, "grid": grid.config.to_json_dict(),
                    "goodput": [p.__dict__ for p in grid.goodput],
                    "elapsed_s": grid.elapsed_s})
        return
    from ador.report.cluster_tables import policy_view

    console.print(policy_view(grid.goodput_frame(), hardware=[h.label for h in
                                                              grid.config.hardware]))
    console.print(f"wrote {folder} ({grid.elapsed_s:.1f} s); 'ador report {folder}' draws "
                  "the figures", highlight=False)
