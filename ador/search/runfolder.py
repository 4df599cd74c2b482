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
                       ``objectives``, ``constraints``, ``evaluations``, ``feasible``,
                       ``pareto``, ``hypervolume``, ``elapsed_s``, ``best`` (per objective),
                       ``baselines``, ``best_ratios`` (per baseline and ratio: value, id),
                       ``files``
    study.db           (Optuna backend only, default storage) the SQLite study; ``--resume``
                       continues it

Columns of designs.csv / pareto.csv:

``id``            design id, ``d00000``... in evaluation order (Pareto YAML file stem)
``batch``         generation (pymoo) or ask batch (Optuna) or chunk (sweep), from 0
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
``evaluations``, ``feasible``, ``hypervolume`` (normalised to the run's final ideal/nadir,
reference point 1.1 in every objective).

A run folder is created once and never overwritten: a clash of names is an error. The one
exception is ``ador explore --resume <folder>``, which continues that folder's own Optuna
study and rewrites its tables from all completed trials. Every file is written atomically
(``ador.spec.io.write_text_atomic``).
"""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.spec.io import dump_yaml, write_spec, write_text_atomic

FILES = {
    "config": "config.yaml", "space": "space.yaml", "designs": "designs.csv",
    "pareto": "pareto.csv", "pareto_dir": "pareto", "baselines": "baselines.csv",
    "comparison": "comparison.csv", "hypervolume": "hypervolume.csv",
    "summary": "summary.json", "study": "study.db",
}


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def create_run_folder(out_dir: Path, name: str, *, now: datetime | None = None) -> Path:
    """Make ``out_dir/<name>-<timestamp>``; an existing folder is an error, never reused."""
    folder = Path(out_dir) / f"{name}-{timestamp(now)}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(exist_ok=False)
    except FileExistsError:
        raise AdorError("run folder already exists (results are never overwritten); pass "
                        "another --name or wait a second", field="name",
                        value=str(folder)) from None
    except OSError as err:
        raise AdorError(f"cannot create the run folder: {err.strerror}", file=str(folder),
                        value=None) from None
    return folder


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV with round-trip float precision, written atomically."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format=None)
    write_text_atomic(path, buf.getvalue())


def write_yaml_spec(path: Path, spec: Any, *, header: str = "") -> None:
    write_spec(path, spec, header=header)


def write_config(folder: Path, problem_spec: Any, space_spec: Any) -> None:
    write_text_atomic(folder / FILES["config"], dump_yaml(
        problem_spec, header="Resolved search problem; `ador explore --config` runs it again."))
    write_text_atomic(folder / FILES["space"], dump_yaml(space_spec,
                                                         header="Resolved design space."))


def write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(_plain(obj), indent=2) + "\n")


def _plain(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, Path):
        return str(o)
    return o
