"""The simulator's confirmation of a serving search: chosen designs re-run by the
discrete-event simulator, beside their estimated figures.

A search with a serving workload ranks designs by the analytical estimate. After it, the
Pareto set (``serving.confirm_pareto`` designs of it, spread along the first objective,
all when fewer) and ``serving.confirm_sample`` other designs drawn at random are simulated
with :func:`ador.serve.runner.serve` (what ``ador serve`` runs: goodput by bisection, then
the workload at its rate for the P99 latencies); a disaggregated or semi-PD deployment with
:func:`ador.serve.cluster_run.run_cluster` (what ``ador cluster`` runs, the same two
figures) on the cluster YAML written beside the design's. ``confirmed.csv`` of the run folder holds
for each: the estimate (``est:<column>``), the simulation (``sim:<column>``), their
relative difference (``err:<column>`` = estimate / simulation - 1) and the ``ador serve``
(or ``ador cluster``) command that reproduces the simulated figures exactly.

The simulations run in a process pool of ``--workers`` processes (the standard library's
``concurrent.futures.ProcessPoolExecutor``, spawned: each confirmation is seconds of
single-threaded numpy and Python, which threads would serialise on the GIL; the tasks are
few, coarse and independent, so a pool needs no scheduler beyond the standard library's).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.metrics import SERVING, SLO_ATTAINMENT, TPOT_P99, TTFT_P99
from ador.search.cluster_args import ClusterArgs
from ador.search.serving import ServeArgs, serving_columns

ROLE_PARETO, ROLE_SAMPLE = "pareto", "sample"


@dataclass(frozen=True)
class Pick:
    index: int  # row of the archive
    role: str  # pareto or sample


@dataclass(frozen=True)
class Confirmation:
    frame: pd.DataFrame  # one row per confirmed design
    summary: dict


def pick_designs(*, F: np.ndarray, feasible: np.ndarray, front: np.ndarray, n_pareto: int,
                 n_sample: int, seed: int) -> list[Pick]:
    """Up to ``n_pareto`` Pareto designs spread evenly along the first objective, and up
    to ``n_sample`` other feasible designs drawn at random (seeded)."""
    front = np.asarray(front, dtype=int)
    order = front[np.argsort(F[front, 0], kind="stable")]
    if len(order) > n_pareto:
        order = order[np.unique(np.round(np.linspace(0, len(order) - 1, n_pareto)).astype(int))]
    picks = [Pick(int(i), ROLE_PARETO) for i in order]
    others = np.setdiff1d(np.flatnonzero(feasible), front)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(others, size=min(n_sample, others.size), replace=False) \
        if others.size else np.array([], dtype=int)
    picks += [Pick(int(i), ROLE_SAMPLE) for i in np.sort(chosen)]
    return picks


def simulate_design(kwargs: dict[str, Any]) -> dict[str, Any]:
    """One design's ``ador serve`` run (``ador cluster``'s when the arguments name a
    ``cluster``): the deployment's goodput, chips and P99 latencies (a user-facing error
    becomes a row with its reason). Runs in a pool process."""
    from ador.serve.cluster_run import run_cluster
    from ador.serve.runner import serve

    started = time.perf_counter()
    try:
        out = run_cluster(**kwargs) if "cluster" in kwargs else serve(**kwargs).to_json_dict()
    except AdorError as err:
        return {"error": err.message(), "elapsed_s": time.perf_counter() - started}
    summary = out["summary"]
    return {"error": "", "goodput_per_s": float(out["goodput"]["rate_per_s"]),
            "chips": int(out["chips"]),
            TTFT_P99.column: float(summary.get(TTFT_P99.column, np.nan)),
            TPOT_P99.column: float(summary.get(TPOT_P99.column, np.nan)),
            SLO_ATTAINMENT.column: float(summary.get(SLO_ATTAINMENT.column, np.nan)),
            "elapsed_s": time.perf_counter() - started}


def run_pool(tasks: list[dict[str, Any]], *, workers: int) -> list[dict[str, Any]]:
    """``simulate_design`` over the tasks, in order: in this process for one worker, else
    in a pool of ``workers`` spawned processes."""
    if workers <= 1 or len(tasks) <= 1:
        return [simulate_design(t) for t in tasks]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        return list(pool.map(simulate_design, tasks))


def confirm(*, picks: list[Pick], args: list[ServeArgs | ClusterArgs], ids: list[str],
            static: dict[str, np.ndarray], estimated: dict[str, np.ndarray],
            workers: int) -> Confirmation:
    """Simulate the picked designs (``args`` and ``ids`` one per pick) and set the
    simulated serving figures beside the estimated ones (``static``/``estimated``: the
    archive's metric columns, indexed by ``Pick.index``; ``static`` holds each design's
    deployment's mean per-chip figures, :func:`ador.search.serving.deployment_figures`)."""
    started = time.perf_counter()
    results = run_pool([a.kwargs() for a in args], workers=workers)
    idx = np.array([p.index for p in picks], dtype=int)
    sim = serving_columns(
        goodput_per_s=np.array([r.get("goodput_per_s", np.nan) for r in results]),
        chips=np.array([r.get("chips", a.tp * a.setup.pp) for r, a in zip(results, args,
                                                                          strict=True)],
                       dtype=float),
        ttft_p99_s=np.array([r.get(TTFT_P99.column, np.nan) for r in results]),
        tpot_p99_s=np.array([r.get(TPOT_P99.column, np.nan) for r in results]),
        static={k: np.asarray(v)[idx] for k, v in static.items()})
    cols: dict[str, Any] = {"id": ids, "role": [p.role for p in picks],
                            "tp": [a.tp for a in args]}
    for m in SERVING:
        est = np.asarray(estimated[m.column], dtype=float)[idx]
        cols[f"est:{m.column}"] = est
        cols[f"sim:{m.column}"] = sim[m.column]
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[f"err:{m.column}"] = est / sim[m.column] - 1.0
    cols[f"sim:{SLO_ATTAINMENT.column}"] = [r.get(SLO_ATTAINMENT.column, np.nan)
                                            for r in results]
    cols["sim_elapsed_s"] = [r["elapsed_s"] for r in results]
    cols["sim_error"] = [r["error"] for r in results]
    cols["command"] = [a.command() for a in args]
    frame = pd.DataFrame(cols)
    return Confirmation(frame=frame, summary={
        "designs": len(picks), "pareto": sum(p.role == ROLE_PARETO for p in picks),
        "sample": sum(p.role == ROLE_SAMPLE for p in picks), "workers": workers,
        "elapsed_s": time.perf_counter() - started,
        "simulation_cpu_s": float(sum(r["elapsed_s"] for r in results)),
        "errors": error_table(frame)})


def error_table(frame: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per serving metric with finite figures on both sides: designs compared and the
    median, mean and largest absolute relative error of the estimate against the
    simulator."""
    out: dict[str, dict[str, float | int]] = {}
    for m in SERVING:
        err = np.abs(pd.to_numeric(frame[f"err:{m.column}"], errors="coerce").to_numpy())
        err = err[np.isfinite(err)]
        if err.size:
            out[m.name] = {"designs": int(err.size), "median_abs": float(np.median(err)),
                           "mean_abs": float(np.mean(err)), "max_abs": float(np.max(err))}
    return out


__all__ = ["Confirmation", "Pick", "confirm", "error_table", "pick_designs", "run_pool",
           "simulate_design"]
