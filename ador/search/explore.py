"""One search, end to end: problem -> backend -> archive -> run folder, baselines beside it.

This is what ``ador explore`` and ``ador sweep`` call; it works in-process and returns a
:class:`RunResult` with everything the tables print.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ador.errors import AdorError, InfeasibleError
from ador.metrics import INTEGER_COLUMNS
from ador.runfolders import create_run_folder, write_csv, write_json
from ador.search.archive import Archive
from ador.search.backends import BACKENDS, Job
from ador.search.baselines import comparison_frame, evaluate_baselines, load_baseline
from ador.search.designfiles import confirm_designs, serving_summary, write_design
from ador.search.hypervolume import fixed_hypervolume, history
from ador.search.optuna_backend import open_study
from ador.search.problem import SearchProblem
from ador.search.progress import SearchProgress
from ador.search.reference import reference
from ador.search.runfolder import (
    FILES,
    RunLock,
    check_resume,
    write_config,
    write_status,
)
from ador.search.space import DesignSpace, load_design_space
from ador.spec.io import load_problem
from ador.spec.problem import ProblemSpec
from ador.spec.space import SCENARIO_TP


@dataclass
class RunResult:
    folder: Path
    problem: SearchProblem
    archive: Archive
    designs: pd.DataFrame
    pareto: pd.DataFrame
    baselines: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict = field(default_factory=dict)


def run_search(spec: ProblemSpec, *, out_dir: Path | str = "results",
               config_file: str = "command line", show_progress: bool = False,
               resume: Path | str | None = None, now: datetime | None = None) -> RunResult:
    """Run the search ``spec`` describes and write its run folder.

    With ``resume`` (a run folder of the Optuna backend) the stored study continues in that
    folder and its outputs are rewritten from all completed trials.
    """
    started = time.perf_counter()
    space = load_design_space(spec.space)
    problem = SearchProblem(spec, space, file=config_file)
    s = spec.search
    backend = BACKENDS[s.backend]
    if s.storage is not None and not backend.resumable:
        raise AdorError(f"a study storage applies to a backend that keeps a study "
                        f"({', '.join(k for k, b in BACKENDS.items() if b.resumable)})",
                        file=config_file, field="search.storage", value=s.storage)
    backend.check(space, s)
    if resume is not None:
        folder = Path(resume)
        if not (folder / FILES["config"]).exists():
            raise AdorError("not a run folder (no config.yaml)", field="resume",
                            value=str(folder))
        if not backend.resumable:
            raise AdorError("only a backend that keeps a study resumes ("
                            + ", ".join(k for k, b in BACKENDS.items() if b.resumable) + ")",
                            field="search.backend", value=s.backend)
        check_resume(folder, spec, space.spec)
    baselines = [load_baseline(name) for name in spec.baselines]  # bad names fail early
    created_study = False
    if resume is None and backend.resumable and s.storage is not None:
        # an external storage is checked (and the study created) before any folder exists
        open_study(storage=s.storage, study_name=spec.name, n_obj=problem.n_obj,
                   resume=False, join=s.workers is not None)
        created_study = True
    if resume is None:
        folder = create_run_folder(Path(out_dir), spec.name, now=now)
        write_config(folder, spec, space.spec)
    archive = Archive(problem)
    archive.reference = reference(problem, evaluate_baselines(problem, baselines))
    with RunLock(folder):
        write_status(folder, "incomplete", pid=os.getpid(),
                     note="the run has not finished writing its results (still running, "
                          "or stopped before the end)")
        with SearchProgress(total=backend.evaluations(space, s),
                            label=f"{spec.name} ({s.backend})", enabled=show_progress) as bar:
            algorithm = backend.run(archive, Job(settings=s, name=spec.name, folder=folder,
                                                 resume=resume is not None or created_study,
                                                 on_batch=bar.update))
        result = write_results(folder, problem, archive, algorithm=algorithm,
                               elapsed_s=time.perf_counter() - started, baselines=baselines)
        write_status(folder, "complete", evaluations=archive.n)
    if not archive.feasible.any():
        raise no_feasible_error(problem, archive, folder=folder, config_file=config_file)
    return result


def run_config(path: Path | str, **kwargs) -> RunResult:
    return run_search(load_problem(path), config_file=str(path), **kwargs)


# -- outputs ------------------------------------------------------------------------------

def design_ids(n: int) -> list[str]:
    return [f"d{i:05d}" for i in range(n)]


def designs_frame(problem: SearchProblem, archive: Archive) -> pd.DataFrame:
    cols: dict[str, object] = {"id": design_ids(archive.n), "generation": archive.batch,
                               "feasible": archive.feasible.astype(int)}
    cols.update(problem.space.labels(archive.X))
    cols.update(dict(archive.metrics.items()))
    for k in INTEGER_COLUMNS:
        if k in cols:
            cols[k] = np.asarray(cols[k]).astype(int)
    for j, name in enumerate(problem.constraints):
        cols[f"g_{name}"] = archive.G[:, j]
    for j, name in enumerate(problem.objectives):
        cols[f"obj_{name}"] = archive.F[:, j]
    for sc, metrics in archive.per_scenario.items():
        for k, v in metrics.items():
            cols[f"{sc}:{k}"] = v
    return pd.DataFrame(cols)


def write_results(folder: Path, problem: SearchProblem, archive: Archive, *, algorithm: str,
                  elapsed_s: float, baselines: list | None = None) -> RunResult:
    spec = problem.spec
    designs = designs_frame(problem, archive)
    front = archive.pareto()
    pareto = designs.iloc[front].copy()
    pdir = folder / FILES["pareto_dir"]
    paths = []
    yaml_of: dict[int, str] = {}
    for i in front:
        rel = f"{FILES['pareto_dir']}/{designs.at[i, 'id']}.yaml"
        write_design(folder=folder, rel=rel, problem=problem, archive=archive,
                      designs=designs, i=i, kind="Pareto design")
        paths.append(rel)
        yaml_of[int(i)] = rel
    pdir.mkdir(exist_ok=True)
    pareto["yaml"] = paths
    confirmation = None
    if problem.serving is not None and spec.serving is not None:
        confirmation = confirm_designs(folder=folder, problem=problem, archive=archive,
                                designs=designs, front=front, yaml_of=yaml_of)
    baseline_frame = evaluate_baselines(problem, baselines)
    comparison = comparison_frame(pareto, baseline_frame)
    feas = archive.feasible
    ref = archive.reference or reference(problem, baseline_frame)
    if feas.any():
        hv_rows = history(archive.F, feas, archive.batch, scale=ref.scale, point=ref.point)
        final_hv = fixed_hypervolume(archive.F[feas], scale=ref.scale, point=ref.point)
    else:
        hv_rows = [{"evaluations": archive.n, "feasible": 0, "hypervolume": 0.0}]
        final_hv = 0.0
    write_csv(folder / FILES["designs"], designs)
    write_csv(folder / FILES["pareto"], pareto)
    write_csv(folder / FILES["baselines"], baseline_frame)
    write_csv(folder / FILES["comparison"], comparison)
    write_csv(folder / FILES["hypervolume"], pd.DataFrame(hv_rows))
    if confirmation is not None:
        write_csv(folder / FILES["confirmed"], confirmation.frame)
    summary = {
        "name": spec.name,
        "folder": str(folder),
        "status": "ok" if feas.any() else "no feasible design",
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "space": {"name": problem.space.name, "file": problem.space.source,
                  "base": problem.space.base_file, "size": _finite(problem.space.size),
                  "knobs": problem.space.names},
        "backend": spec.search.backend,
        "algorithm": algorithm,
        "seed": spec.search.seed,
        "scenarios": [sc.model_dump(mode="json") | {"label": sc.label}
                      for sc in spec.scenarios],
        "objectives": [{"name": m.name, "metric": m.column,
                        "sense": "max" if m.higher_is_better else "min"}
                       for m in problem.objective_metrics],
        "constraints": problem.constraints,
        "evaluations": archive.n,
        "distinct": archive.distinct or archive.n,  # functionally distinct, evaluated once
        "feasible": int(feas.sum()),
        "pareto": len(front),
        "hypervolume": final_hv,
        # the fixed reference every hypervolume of this run is taken against
        "hypervolume_reference": ref.as_dict(problem.objectives),
        "elapsed_s": elapsed_s,
        "best": _best(problem, archive, designs),
        "baselines": baseline_frame.loc[:, ["baseline", "tp", "usable", "reason", "over_budget",
                                            "meets_slo", "feasible"]].to_dict("records"),
        "best_ratios": _best_ratios(comparison),
        "files": FILES,
    }
    if confirmation is not None:
        summary["serving"] = serving_summary(problem) | {"confirmation": confirmation.summary}
    write_json(folder / FILES["summary"], summary)
    return RunResult(folder=folder, problem=problem, archive=archive, designs=designs,
                     pareto=pareto, baselines=baseline_frame, comparison=comparison,
                     summary=summary)


def _finite(x: float):
    return int(x) if np.isfinite(x) else None


def _best(problem: SearchProblem, archive: Archive, designs: pd.DataFrame) -> dict:
    out: dict[str, dict] = {}
    feas = np.flatnonzero(archive.feasible)
    if feas.size == 0:
        return out
    for j, m in enumerate(problem.objective_metrics):
        i = feas[np.argmin(archive.F[feas, j])]
        out[m.name] = {"id": designs.at[i, "id"], m.column: float(archive.metrics[m.column][i])}
    return out


def _best_ratios(comparison: pd.DataFrame) -> dict:
    out: dict = {}
    if comparison.empty:
        return out
    for base, group in comparison.groupby("baseline", sort=False):
        out[base] = {}
        for col in comparison.columns[2:]:
            j = group[col].idxmax()
            out[base][col] = {"value": float(group.at[j, col]), "id": group.at[j, "id"]}
    return out


def no_feasible_error(problem: SearchProblem, archive: Archive, *, folder: Path,
                      config_file: str) -> InfeasibleError:
    """Name the constraint that blocks feasibility: the one whose best value is worst; or,
    when each constraint is met by some design, say that none meets them all together."""
    G = archive.G
    best = G.min(axis=0)
    j = int(np.argmax(best))
    if best[j] <= 0:
        return _jointly_infeasible(problem, archive, folder=folder, config_file=config_file)
    c = problem.constraint_defs[j]
    name, field, limit = c.name, c.field, c.limit(problem.spec)
    if field.startswith("space."):
        field = "space"
    closest = f"the closest design misses it by {best[j]:.1%}" if best[j] < 1e29 else ""
    return InfeasibleError(
        f"no feasible design in {archive.n} evaluations: constraint '{name}' cannot be met "
        f"({closest}; rule: {c.rule}, g = value / limit - 1 <= 0); relax it. Evaluated "
        f"designs are in {folder}", file=config_file, field=field,
        value=limit if isinstance(limit, float) else None)


def _jointly_infeasible(problem: SearchProblem, archive: Archive, *, folder: Path,
                        config_file: str) -> InfeasibleError:
    """Each constraint is met by some design, none meets all: name the closest design's
    misses."""
    G = archive.G
    i = int(np.argmin(np.maximum(G, 0.0).sum(axis=1)))
    defs = problem.constraint_defs
    misses = "; ".join(c.reason(float(G[i, j]), problem.spec)
                       for j, c in enumerate(defs) if G[i, j] > 0)
    return InfeasibleError(
        f"no feasible design in {archive.n} evaluations: each constraint is met by some "
        f"design, none meets all together (the closest, {design_ids(archive.n)[i]}, misses: "
        f"{misses}); relax one of them. Evaluated designs are in {folder}",
        file=config_file, field=", ".join(c.field for j, c in enumerate(defs)
                                          if G[i, j] > 0), value=None)


__all__ = [
    "SCENARIO_TP",
    "DesignSpace",
    "RunResult",
    "design_ids",
    "run_config",
    "run_search",
]
