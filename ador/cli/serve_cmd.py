"""`ador serve`: requests arriving over time on one serving instance of a design."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ador.cli.common import console, err_console
from ador.errors import SpecError

if TYPE_CHECKING:
    from rich.progress import TaskID


def _rate(value: str | None) -> float | None:
    return None if value is None else _positive_rate(value)


def _positive_rate(value: str) -> float:
    from ador.spec.serving import parse_rate

    try:
        rate = parse_rate(value)
    except ValueError as err:
        raise SpecError(str(err), field="--rate", value=value) from None
    if not rate > 0 or rate == float("inf"):
        raise SpecError("the request rate must be > 0", field="--rate", value=value)
    return rate


def _sweep(value: str | None) -> list[float] | None:
    if value is None:
        return None
    rates = []
    for part in value.split(","):
        try:
            rates.append(_positive_rate(part.strip()))
        except SpecError as err:
            raise SpecError(err.rule, field="--sweep", value=value) from None
    return rates


def serve_cmd(
    hardware: Annotated[str, typer.Argument(help="hardware YAML path or template name")],
    workload: Annotated[str, typer.Option(
        "--workload", "-w", help="serving workload: a name in workloads/serving, a YAML path, "
                                 "or a trace CSV (arrived_at,num_prefill_tokens,"
                                 "num_decode_tokens)")],
    model: Annotated[str, typer.Option("--model", "-m", help="model name or YAML path")
                     ] = "llama3-8b",
    rate: Annotated[str | None, typer.Option(
        help="requests per second, e.g. 4 or '4/s': rescales a trace's own times, replaces "
             "a Poisson/Gamma rate, else Poisson arrivals")] = None,
    concurrency: Annotated[int | None, typer.Option(
        help="closed loop of N clients", min=1)] = None,
    max_load: Annotated[bool, typer.Option("--max-load", help="queue every request at "
                                                              "time 0")] = False,
    num_requests: Annotated[int | None, typer.Option("--num-requests", "-n", min=1)] = None,
    seed: Annotated[int | None, typer.Option(min=0)] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="static, vllm, sarathi or trtllm (default: the workload's, else vllm)")] = None,
    max_num_seqs: Annotated[int | None, typer.Option(help="running requests at most")] = None,
    max_batched_tokens: Annotated[int | None, typer.Option(help="tokens per iteration")] = None,
    chunk_tokens: Annotated[int | None, typer.Option(help="Sarathi token budget")] = None,
    memory_fraction: Annotated[float | None, typer.Option(
        help="share of the HBM left after the weights that the KV cache may use")] = None,
    tp: Annotated[int, typer.Option("--tp", help="tensor-parallel degree", min=1)] = 1,
    pp: Annotated[int, typer.Option("--pp", help="pipeline-parallel degree", min=1)] = 1,
    instances: Annotated[int, typer.Option(
        help="serving instances of tp x pp chips (requests dealt to them in turn)",
        min=1)] = 1,
    precision: Annotated[str, typer.Option("--precision", "-p", help="fp16, bf16, fp8 or int8 "
                                           "for weights, activations and KV cache")] = "fp16",
    goodput: Annotated[bool, typer.Option(
        "--goodput", help="also find the highest rate meeting the SLOs (bisection) and "
                          "sweep the rate around it")] = False,
    ttft_slo: Annotated[str | None, typer.Option(help="time-to-first-token SLO with unit, "
                                                      "e.g. '2s'")] = None,
    tpot_slo: Annotated[str | None, typer.Option(help="time-per-output-token SLO with unit, "
                                                      "e.g. '100ms'")] = None,
    sweep: Annotated[str | None, typer.Option(
        help="rates to simulate for latency and attainment versus rate, e.g. '1,2,4,8' "
             "(requests per second; default with --goodput: around the goodput)")] = None,
    tbt_slo: Annotated[str | None, typer.Option(
        help="also find Sarathi-Serve's capacity: the highest rate with P99 time between "
             "tokens within this SLO (with unit, e.g. '100ms') and median queueing < 2 s")
    ] = None,
    attainment: Annotated[float, typer.Option(help="share of requests that must meet both "
                                                   "SLOs for goodput")] = 0.9,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="folder of run folders")
                       ] = Path("results"),
    name: Annotated[str | None, typer.Option(help="run folder name (default "
                                                  "serve-<workload>)")] = None,
    token_times: Annotated[bool, typer.Option(
        "--token-times", help="also write every output token's time (token_times.csv)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Simulate serving a workload: latency percentiles, throughput, SLO attainment, goodput;
    writes a run folder that 'ador report' draws."""
    overrides = {"rate": _rate(rate), "concurrency": concurrency, "max_load": max_load,
                 "num_requests": num_requests, "seed": seed}
    rates_given = _sweep(sweep)
    from ador.serve.runfolder import RunFacts, write_serving_run
    from ador.serve.runner import serve

    sched = {"name": scheduler, "max_num_seqs": max_num_seqs,
             "max_batched_tokens": max_batched_tokens, "chunk_tokens": chunk_tokens,
             "memory_fraction": memory_fraction}
    with _progress(enabled=not as_json and err_console.is_terminal) as bar:
        out = serve(hardware=hardware, model=model, workload=workload, overrides=overrides,
                    scheduler=sched, tp=tp, pp=pp, precision=precision, ttft_slo=ttft_slo,
                    tpot_slo=tpot_slo, goodput=goodput, attainment=attainment,
                    sweep=rates_given, instances=instances, capacity_tbt_slo=tbt_slo,
                    progress=bar)
    data = out.to_json_dict()
    import pandas as pd

    folder = write_serving_run(
        out_dir, name=name or f"serve-{out.config.workload.name}", config=out.config,
        result=out.result, rates=pd.DataFrame(out.rates) if out.rates else None,
        token_times=token_times,
        power_w=(out.power or {}).get("power_w_per_iteration"),
        facts=RunFacts(hardware=data["hardware"], model=data["model"],
                       workload=data["workload"], tp=tp, pp=pp, precision=data["precision"],
                       num_requests=data["num_requests"], slo=out.slo, goodput=out.goodput,
                       capacity=out.capacity, board_power=data["board_power"],
                       elapsed_s=out.elapsed_s))
    data["run_folder"] = str(folder)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
        return
    from ador.report.serving_tables import serving_view

    console.print(serving_view(data))
    console.print(f"simulated in {out.elapsed_s:.2f} s; wrote {folder} "
                  f"(`ador report {folder}` draws its figures)", highlight=False)


class _progress:
    """A rich progress bar on stderr fed by (task, fraction) callbacks."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                            console=err_console, transient=True)
        self.bar.__enter__()
        return self

    def __call__(self, task: str, fraction: float) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.bar.add_task(task, total=1.0)
        self.bar.update(self.tasks[task], completed=min(max(fraction, 0.0), 1.0))

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
