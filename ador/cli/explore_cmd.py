"""`ador explore` (multi-objective search) and `ador sweep` (exhaustive grid)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ador.cli.common import console
from ador.errors import AdorError
from ador.metrics import METRICS, OBJECTIVES, Metric
from ador.spec.io import check_problem_names, load_problem, to_data, validate_data
from ador.spec.problem import ProblemSpec

NONE_WORDS = {"none", "off", "no", "-"}
WIDE = 400  # columns of --wide output: every table at its natural width


def _limit(value: str | None) -> Any:
    """A limit from the command line: a quantity string, or 'none' to remove it."""
    if value is None:
        return ...
    return None if value.strip().lower() in NONE_WORDS else value


def _limit_option(m: Metric) -> str:
    """The keyword (and, with dashes, the option) that sets a metric's limit."""
    return f"{m.name}_{'slo' if str(m.limit).startswith('slo.') else 'budget'}"


def build_problem(*, config: Path | None, resume: Path | None = None, space: str | None = None,
                  model: str | None = None, batch: int | None = None,
                  input_len: int | None = None, output_len: int | None = None,
                  tp: int | None = None, precision: str | None = None,
                  memory_fit: bool | None = None,
                  objectives: str | None = None, baselines: str | None = None,
                  backend: str | None = None, algorithm: str | None = None,
                  pop_size: int | None = None, generations: int | None = None,
                  trials: int | None = None, seed: int | None = None,
                  name: str | None = None, storage: str | None = None,
                  workers: int | None = None, serving: str | None = None,
                  serving_requests: int | None = None, confirm_pareto: int | None = None,
                  confirm_sample: int | None = None,
                  **limits: str | None) -> tuple[ProblemSpec, str]:
    """The problem: a config file (or the resumed run's config, or the defaults) with the
    command-line options laid over it, validated as one spec.

    ``limits`` are the SLO and budget options, ``<metric>_slo`` or ``<metric>_budget`` for
    each metric of ador.metrics with a limit (``tpot_slo="20 ms"``, ``area_budget="none"``).
    """
    options = {_limit_option(m): m for m in METRICS if m.limit}
    unknown = sorted(set(limits) - set(options))
    if unknown:
        raise TypeError(f"unknown limit options: {', '.join(unknown)}")
    source: Path | None = None
    if resume is not None:
        source = resume / "config.yaml"
        if not source.exists():
            raise AdorError("not a run folder (no config.yaml)", field="--resume",
                            value=str(resume))
    else:
        source = config
    if source is not None:
        # a run folder's config.yaml is ador's own; older ones wrote bare SI numbers
        base = load_problem(source, units_required=resume is None)
        data = to_data(base)
        file = str(source)
    else:
        data = to_data(ProblemSpec.model_validate({}))
        file = "command line"
    overrides = False

    def put(section: str | None, key: str, value: Any) -> None:
        nonlocal overrides
        if value is ...:
            return
        overrides = True
        if section is not None and data.get(section) is None:
            data[section] = {}
        target = data if section is None else data[section]
        target[key] = value

    for sc in data["scenarios"]:
        for key, value in (("model", model), ("batch", batch), ("input_len", input_len),
                           ("output_len", output_len), ("tp", tp), ("precision", precision)):
            if value is not None:
                sc[key] = value
                overrides = True
    put(None, "space", space if space is not None else ...)
    for option, value in limits.items():
        section, key = str(options[option].limit).split(".")
        put(section, key, _limit(value))
    if memory_fit is not None:
        put("budgets", "memory_fit", memory_fit)
    if objectives is not None:
        put(None, "objectives", [o.strip() for o in objectives.split(",") if o.strip()])
    if baselines is not None:
        put(None, "baselines", [] if baselines.strip().lower() in NONE_WORDS
            else [b.strip() for b in baselines.split(",") if b.strip()])
    for key, value in (("backend", backend), ("algorithm", algorithm), ("pop_size", pop_size),
                       ("generations", generations), ("trials", trials), ("seed", seed),
                       ("storage", storage), ("workers", workers)):
        if value is not None:
            put("search", key, value)
    if name is not None:
        put(None, "name", name)
    if serving is not None:
        put("serving", "workload", serving)
    for key, value in (("num_requests", serving_requests), ("confirm_pareto", confirm_pareto),
                       ("confirm_sample", confirm_sample)):
        if value is not None:
            if not data.get("serving"):
                raise AdorError("applies to a search with a serving workload: give --serving "
                                "NAME too", file="command line",
                                field="--" + {"num_requests": "serving-requests"}.get(
                                    key, key).replace("_", "-"), value=value)
            put("serving", key, value)
    if overrides and file != "command line":
        file = f"{file} + command line"
    try:
        spec = validate_data(ProblemSpec, data, file=file)
    except AdorError as err:
        given = {str(m.limit): k for k, m in options.items()}.get(str(err.field))
        if given is None or limits.get(given) is None:
            raise
        raise AdorError(err.rule, file="command line",
                        field=f"--{given.replace('_', '-')} ({err.field})",
                        value=err.value, show_value=err.show_value) from None
    check_problem_names(spec, file=file)
    return spec, file


Opt = typer.Option
# The defaults that options override, shown in --help.
_D = to_data(ProblemSpec.model_validate({}))
_SC = _D["scenarios"][0]
_DS = _D["search"]


def _default(value: Any) -> str:
    return f" (default: {value})"


def _limit_default(option: str) -> str:
    """The default of a limit option (``tpot_slo``), as the problem file would write it."""
    metric = {_limit_option(m): m for m in METRICS if m.limit}[option]
    section, _, key = str(metric.limit).partition(".")
    return _default(_D[section][key])


def explore_cmd(
    config: Annotated[Path | None, Opt("--config", "-c", help="problem YAML (options override it)")] = None,
    space: Annotated[str | None, Opt(help="design space name (hwtemplates/spaces) or YAML path"
                                          + _default(_D["space"]))] = None,
    model: Annotated[str | None, Opt("--model", "-m", help="model of every scenario"
                                     + _default(_SC["model"]))] = None,
    batch: Annotated[int | None, Opt("--batch", "-b", help=_default(_SC["batch"]))] = None,
    input_len: Annotated[int | None, Opt("--input-len", "-i",
                                         help=_default(_SC["input_len"]))] = None,
    output_len: Annotated[int | None, Opt("--output-len", "-o",
                                          help=_default(_SC["output_len"]))] = None,
    tp: Annotated[int | None, Opt(help="tensor-parallel degree (when the space has no tp knob)"
                                       + _default(_SC["tp"]))] = None,
    precision: Annotated[str | None, Opt("--precision", "-p",
                                         help=_default(_SC["precision"]))] = None,
    ttft_slo: Annotated[str | None, Opt(help="e.g. '500 ms'; 'none' removes it"
                                             + _limit_default("ttft_slo"))] = None,
    tpot_slo: Annotated[str | None, Opt(help="e.g. '50 ms'; 'none' removes it"
                                             + _limit_default("tpot_slo"))] = None,
    serving: Annotated[str | None, Opt(help="serving workload (workloads/serving name or YAML "
                                            "path): adds goodput and P99 latencies, estimated "
                                            "for every design, simulated for the Pareto set")] = None,
    serving_requests: Annotated[int | None, Opt(help="requests of the serving workload each design "
                                                     "serves (default 1000)")] = None,
    confirm_pareto: Annotated[int | None, Opt(help="Pareto designs the simulator confirms (default 16)")] = None,
    confirm_sample: Annotated[int | None, Opt(help="other designs the simulator confirms (default 8)")] = None,
    ttft_p99_slo: Annotated[str | None, Opt(help="limit on the serving P99 TTFT, e.g. '2 s'")] = None,
    tpot_p99_slo: Annotated[str | None, Opt(help="limit on the serving P99 TPOT, e.g. '100 ms'")] = None,
    area_budget: Annotated[str | None, Opt(help="per-chip die area"
                                                + _limit_default("area_budget"))] = None,
    hbm_bw_budget: Annotated[str | None, Opt(help="per-chip HBM bandwidth" + _limit_default("hbm_bw_budget"))] = None,
    power_budget: Annotated[str | None, Opt(help="per-chip average power"
                                                 + _limit_default("power_budget"))] = None,
    p2p_bw_budget: Annotated[str | None, Opt(help="per-chip P2P bandwidth, e.g. '600 GB/s'")] = None,
    cost_budget: Annotated[str | None, Opt(help="per-chip cost, e.g. '3000 $'")] = None,
    power_density_budget: Annotated[str | None, Opt(help="peak power per mm² of die, e.g. '0.8 W/mm2'")] = None,
    memory_fit: Annotated[bool | None, Opt("--memory-fit/--no-memory-fit")] = None,
    objectives: Annotated[str | None, Opt(help="comma list of: " + ", ".join(OBJECTIVES)
                                               + _default(",".join(_D["objectives"])))] = None,
    baselines: Annotated[str | None, Opt(help="comma list of GPU templates, or 'none'"
                                              + _default(",".join(_D["baselines"])))] = None,
    backend: Annotated[str | None, Opt(help="pymoo, optuna or sweep"
                                            + _default(_DS["backend"]))] = None,
    algorithm: Annotated[str | None, Opt(help="auto, nsga2, nsga3 (pymoo) or tpe (optuna)"
                                              + _default(_DS["algorithm"]))] = None,
    pop_size: Annotated[int | None, Opt(help="population (pymoo) or ask batch (optuna)"
                                             + _default(_DS["pop_size"]))] = None,
    generations: Annotated[int | None, Opt(help="generations (pymoo)"
                                                + _default(_DS["generations"]))] = None,
    trials: Annotated[int | None, Opt(help="trials in all (optuna; default pop x generations; "
                                            "storing costs about 30 ms a trial)")] = None,
    seed: Annotated[int | None, Opt(help=_default(_DS["seed"]))] = None,
    name: Annotated[str | None, Opt(help="run name (folder <name>-<timestamp>)"
                                         + _default(_D["name"]))] = None,
    out_dir: Annotated[Path, Opt(help="where run folders go")] = Path("results"),
    storage: Annotated[str | None, Opt(help="Optuna storage URL (default: study.db in the run folder)")] = None,
    resume: Annotated[Path | None, Opt(help="run folder of an Optuna run to continue")] = None,
    workers: Annotated[int | None, Opt(help="processes sharing the Optuna study (journal file, or "
                                            "--storage, which other machines join)")] = None,
    top: Annotated[int, Opt(help="Pareto rows to print")] = 12,
    progress: Annotated[bool, Opt("--progress/--no-progress")] = True,
    wide: Annotated[bool, Opt("--wide", help="every column, whatever the terminal width")] = False,
) -> None:
    """Search a design space for Pareto-optimal designs under SLOs and budgets."""
    spec, file = build_problem(
        config=config, resume=resume, space=space, model=model, batch=batch,
        input_len=input_len, output_len=output_len, tp=tp, precision=precision,
        ttft_slo=ttft_slo, tpot_slo=tpot_slo, area_budget=area_budget,
        hbm_bw_budget=hbm_bw_budget, power_budget=power_budget, p2p_bw_budget=p2p_bw_budget,
        cost_budget=cost_budget, power_density_budget=power_density_budget,
        memory_fit=memory_fit, objectives=objectives,
        baselines=baselines, backend=backend, algorithm=algorithm, pop_size=pop_size,
        generations=generations, trials=trials, seed=seed, name=name, storage=storage,
        workers=workers, serving=serving, serving_requests=serving_requests,
        confirm_pareto=confirm_pareto, confirm_sample=confirm_sample,
        ttft_p99_slo=ttft_p99_slo, tpot_p99_slo=tpot_p99_slo)
    _search_and_print(spec, file, out_dir=out_dir, progress=progress, top=top, resume=resume,
                      wide=wide)


def sweep_cmd(
    space: Annotated[str, typer.Argument(help="design space name or YAML path")] = "ador-small",
    config: Annotated[Path | None, Opt("--config", "-c", help="problem YAML (options override it)")] = None,
    model: Annotated[str | None, Opt("--model", "-m")] = None,
    batch: Annotated[int | None, Opt("--batch", "-b")] = None,
    input_len: Annotated[int | None, Opt("--input-len", "-i")] = None,
    output_len: Annotated[int | None, Opt("--output-len", "-o")] = None,
    tp: Annotated[int | None, Opt()] = None,
    ttft_slo: Annotated[str | None, Opt()] = None,
    tpot_slo: Annotated[str | None, Opt()] = None,
    area_budget: Annotated[str | None, Opt()] = None,
    hbm_bw_budget: Annotated[str | None, Opt()] = None,
    objectives: Annotated[str | None, Opt()] = None,
    baselines: Annotated[str | None, Opt()] = None,
    name: Annotated[str | None, Opt()] = None,
    out_dir: Annotated[Path, Opt()] = Path("results"),
    top: Annotated[int, Opt()] = 12,
    progress: Annotated[bool, Opt("--progress/--no-progress")] = True,
    wide: Annotated[bool, Opt("--wide", help="every column, whatever the terminal width")] = False,
) -> None:
    """Evaluate every design of a small discrete space and write its exact Pareto front."""
    spec, file = build_problem(
        config=config, space=space, model=model, batch=batch, input_len=input_len,
        output_len=output_len, tp=tp, ttft_slo=ttft_slo, tpot_slo=tpot_slo,
        area_budget=area_budget, hbm_bw_budget=hbm_bw_budget, objectives=objectives,
        baselines=baselines, backend="sweep", name=name or "sweep")
    _search_and_print(spec, file, out_dir=out_dir, progress=progress, top=top, wide=wide)


def _search_and_print(spec: ProblemSpec, file: str, *, out_dir: Path, progress: bool, top: int,
                      resume: Path | None = None, wide: bool = False) -> None:
    """Run the search in-process, write its run folder and print the Pareto view."""
    from ador.report.search_tables import search_view  # search libraries: load on use
    from ador.search.explore import run_search

    result = run_search(spec, out_dir=out_dir, config_file=file, show_progress=progress,
                        resume=resume)
    view = search_view(result, top=top, width=None if wide else console.width)
    (Console(width=WIDE) if wide else console).print(view)


__all__ = ["build_problem", "explore_cmd", "sweep_cmd"]
