"""Run folders: everything one search wrote, in a layout that reports read back.

Layout of ``results/<name>-<YYYYMMDD-HHMMSS>/`` (file names are stable; later versions add
files and columns, never rename or remove them)::

    config.yaml        the resolved problem (ProblemSpec YAML, every default filled in);
                       ``ador explore --config config.yaml`` runs the same search again
    space.yaml         the resolved design space (SpaceSpec YAML, base template by path)
    designs.csv        every evaluated design, one row each, in evaluation order
    pareto.csv         the feasible non-dominated designs (same columns as designs.csv plus
                       ``yaml``, the path of the design's hardware YAML relative to the folder)
    pareto/<id>.yaml   each Pareto design as a hardware spec; ``ador evaluate pareto/<id>.yaml``
                       with the options in its header comment reproduces its numbers exactly
    baselines.csv      each baseline GPU (a100, h100, h200 by default) on the same scenarios
    comparison.csv     each Pareto design against each baseline: ratios per metric
    hypervolume.csv    hypervolume of the feasible front after each batch of evaluations
    summary.json       run facts: ``name``, ``status`` ("ok" or "no feasible design"),
                       ``space``, ``backend``, ``algorithm``, ``seed``, ``scenarios``,
                       ``objectives``, ``constraints``, ``evaluations``, ``distinct``
                       (functionally distinct designs, each evaluated once), ``feasible``,
                       ``pareto``, ``hypervolume``, ``hypervolume_reference`` (per objective:
                       scale, reference, basis), ``elapsed_s``, ``best`` (per objective),
                       ``baselines`` (tp, usable, reason, over_budget), ``best_ratios`` (per
                       usable baseline and ratio: value, id), ``files``
    confirmed.csv      (serving search only) the designs the discrete-event simulator re-ran:
                       ``id``, ``role`` (pareto or sample), ``tp``, per serving metric
                       ``est:<column>``, ``sim:<column>`` and ``err:<column>`` (estimate /
                       simulation - 1), ``sim:slo_attainment``, ``sim_elapsed_s``,
                       ``sim_error`` (why a run gave no figures) and ``command`` (the
                       ``ador serve`` or ``ador cluster`` command that reproduces them);
                       ``summary.json`` then has ``serving`` (workload, requests, rate, SLOs,
                       scheduler, deployment, ``confirmation`` with its error table)
    confirmed/<id>.yaml  (serving search only) each sampled, non-Pareto confirmed design;
                       ``<id>.cluster.yaml`` beside a design's YAML (here or in pareto/)
                       holds its disaggregated or semi-PD deployment for ``ador cluster``
    study.db           (Optuna backend only, default storage) the SQLite study; ``--resume``
                       continues it
    status.json        ``status``: ``incomplete`` from the start of a run (or a resume)
                       until every file above is written, then ``complete``; a killed run
                       keeps ``incomplete`` (``ador report`` and ``ador.load_run`` show it)
    .lock              while a run writes: the writing process's id; a second writer
                       (e.g. two ``--resume`` of one folder) is refused

Columns of designs.csv / pareto.csv:

``id``            design id, ``d00000``... in evaluation order (Pareto YAML file stem)
``generation``    generation (pymoo) or ask batch (Optuna) or chunk (sweep), from 0
                  (named ``batch`` in run folders of earlier versions)
``feasible``      1 when every constraint holds (all ``g_*`` <= 0), else 0
``<knob>``        one column per knob of the space, with the knob's name, in SI units
                  (choice knobs: the choice's label)
(metrics)         one column per searched metric of ``ador.metrics`` (its ``column``),
                  combined over the problem's scenarios as its entry says (latencies,
                  power and energy per request: the worst scenario; rates: the geometric
                  mean; design properties: the same in every scenario):
``ttft_s``, ``tpot_s``, ``throughput_per_chip_tok_s``
                  performance
``tokens_per_s_per_mm2``, ``tokens_per_j``, ``tokens_per_s_per_usd``, ``area_mm2``,
``power_w``, ``cost_usd``, ``energy_per_request_j``, ``power_density_w_per_mm2``
                  efficiency (per chip; energy per request for the system; peak power
                  per mm² of die)
``hbm_bw_bytes_per_s``, ``p2p_bw_bytes_per_s``, ``tp``, ``chips``
                  per-chip HBM bandwidth, per-chip P2P bandwidth (all links, one direction),
                  tensor-parallel degree used, chips per system
``fits_memory``   1 when the model fits in HBM in every scenario
``g_<name>``      constraint values (<= 0 feasible): ``g_valid``, ``g_supported``,
                  ``g_memory``, ``g_ttft``, ``g_tpot``, ``g_area``, ``g_hbm_bw``, ``g_power``,
                  ``g_p2p_bw``, ``g_cost``, ``g_power_density`` (only those the problem
                  uses, in the order of ``ador.search.constraints.CONSTRAINTS``); relative
                  excess over the limit, e.g. ``tpot / slo - 1``
``obj_<name>``    the minimised objective values (maximised metrics negated)
``<scenario>:<metric>``  with several scenarios, each scenario's own metrics as well

baselines.csv: ``baseline`` (name as given), ``hardware`` (template name), ``usable`` (1 when
some deployment meets the SLOs: the baseline supports the scenarios' precisions, the model
fits and the SLOs hold), ``reason`` (why not, e.g. ``does not fit in 80 GB at tp<=8`` or
``no fp8 support``; empty when usable), ``over_budget`` (the design budgets it breaks, e.g.
``hbm_bw 4.8 TB/s > 3.35 TB/s``; budgets are not applied to baselines but marked),
``meets_slo`` (= usable), ``feasible`` (all constraints, budgets included), ``tp`` (the
smallest power of two up to the system's chips at which it is usable; the one closest to
usable otherwise), then the same metric, ``g_*`` and ``<scenario>:<metric>`` columns as
designs.csv. Baselines that are not usable are left out of comparison.csv.
comparison.csv: ``id``, ``baseline``, ``tpot_ratio`` (baseline tpot / design tpot, > 1 is
better), ``throughput_per_chip_ratio``, ``tokens_per_s_per_mm2_ratio``,
``tokens_per_j_ratio`` (design / baseline, > 1 is better). hypervolume.csv:
``evaluations``, ``feasible``, ``hypervolume`` (against the problem's fixed reference,
:mod:`ador.search.reference`, stored in summary.json as ``hypervolume_reference``: the
same numbers as the progress line, comparable across runs and algorithms on one problem).

A run folder is created once and never overwritten: a clash of names is an error. The one
exception is ``ador explore --resume <folder>``, which continues that folder's own Optuna
study and rewrites its tables from all completed trials. Every file is written atomically
(``ador.spec.io.write_text_atomic``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ador.errors import AdorError
from ador.runfolders import write_json
from ador.spec.io import dump_yaml, load_problem, load_spec, write_spec, write_text_atomic

FILES = {
    "config": "config.yaml", "space": "space.yaml", "designs": "designs.csv",
    "pareto": "pareto.csv", "pareto_dir": "pareto", "baselines": "baselines.csv",
    "comparison": "comparison.csv", "hypervolume": "hypervolume.csv",
    "summary": "summary.json", "study": "study.db", "status": "status.json",
    "confirmed": "confirmed.csv", "confirmed_dir": "confirmed",
}
LOCK = ".lock"
# What a resumed run must share with the stored one (the rest, e.g. trials, may change).
RESUME_FIELDS = ("objectives", "scenarios", "slo", "budgets", "serving")


class RunLock:
    """The run folder's writer lock: ``.lock`` holds the writing process's id. A second
    writer is refused while that process lives; the lock of a killed process is taken over.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK

    def __enter__(self) -> RunLock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = _lock_pid(self.path)
                if pid is not None and _alive(pid):
                    raise AdorError(f"the run folder is being written by another ador "
                                    f"process (pid {pid}); wait for it to finish (rule: one "
                                    f"writer per run folder)", file=str(self.path.parent),
                                    value=None) from None
                self.path.unlink(missing_ok=True)  # left by a killed run
                continue
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
            return self
        raise AdorError("cannot take the run folder's lock", file=str(self.path), value=None)

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def _lock_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_status(folder: Path, status: str, **facts: Any) -> None:
    """``status.json``: ``incomplete`` from the start of a run until its results are all
    written, then ``complete``; a killed run keeps ``incomplete``."""
    write_json(Path(folder) / FILES["status"],
               {"status": status, "updated": datetime.now(UTC).isoformat(timespec="seconds"),
                **facts})


def check_resume(folder: Path, problem: Any, space: Any) -> None:
    """Refuse to resume ``folder`` with a problem or space (specs) other than the stored."""
    stored = load_problem(Path(folder) / FILES["config"], units_required=False).model_dump(
        mode="json")
    stored_space = load_spec(type(space), Path(folder) / FILES["space"],
                             units_required=False).model_dump(mode="json")
    problem_data = problem.model_dump(mode="json")
    for key in RESUME_FIELDS:
        if _norm(stored.get(key)) != _norm(problem_data.get(key)):
            raise AdorError(f"--resume would continue the stored study with other {key} "
                            f"than it was run with (rule: a resumed run keeps its space, "
                            f"objectives, constraints and scenarios; start a new run "
                            f"instead)", file=str(Path(folder) / FILES["config"]),
                            field=key, value=None)
    if _norm(stored_space) != _norm(space.model_dump(mode="json")):
        raise AdorError("--resume would reinterpret the stored designs in a design space "
                        "that differs from the one they were drawn from (rule: a resumed "
                        "run keeps its space; start a new run instead)",
                        file=str(Path(folder) / FILES["space"]), field="space", value=None)


def _norm(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def write_yaml_spec(path: Path, spec: Any, *, header: str = "") -> None:
    write_spec(path, spec, header=header)


def write_config(folder: Path, problem_spec: Any, space_spec: Any) -> None:
    write_text_atomic(folder / FILES["config"], dump_yaml(
        problem_spec, header="Resolved search problem; `ador explore --config` runs it again."))
    write_text_atomic(folder / FILES["space"], dump_yaml(space_spec,
                                                         header="Resolved design space."))


