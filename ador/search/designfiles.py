"""The files of a search's designs and the simulator's confirmation of a serving search.

Each Pareto design (and each design sampled for confirmation) is written as a hardware YAML
whose header names the commands that reproduce its figures: ``ador evaluate`` for every
static scenario and, with a serving workload, ``ador serve`` (colocated) or ``ador cluster``
on the cluster YAML written beside it (disaggregated, semi-PD). ``confirm_designs`` runs
those same simulations (module :mod:`ador.search.confirm`) for the picked designs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ador.metrics import GOODPUT_PER_FIGURE
from ador.search.archive import Archive
from ador.search.cluster_args import DEPLOYMENT_TITLES, ClusterArgs, cluster_spec
from ador.search.confirm import Confirmation, confirm, pick_designs
from ador.search.problem import SearchProblem
from ador.search.runfolder import FILES, write_yaml_spec
from ador.search.serving import ServeArgs, deployment_figures
from ador.spec.problem import CLUSTER_POLICIES, ServingDeployment
from ador.spec.space import DEPLOYMENT_FIELDS


def evaluate_commands(problem: SearchProblem, yaml_name: str, tp: int) -> list[str]:
    cmds = []
    for sc in problem.spec.scenarios:
        t = tp if problem.space.tp_knob is not None else sc.tp
        kv = f" --kv-precision {sc.kv_precision.value}" if sc.kv_precision else ""
        cmds.append(f"ador evaluate {yaml_name} --model {sc.model} --batch {sc.batch} "
                    f"--input-len {sc.input_len} --output-len {sc.output_len} --tp {t} "
                    f"--pp {sc.pp} --precision {sc.precision.value}{kv}")
    return cmds


def _deployment(problem: SearchProblem, archive: Archive, i: int) -> ServingDeployment:
    assert problem.serving is not None
    return problem.serving.deployments(problem.space.serving(archive.X[i:i + 1]))[0]


def _cluster_rel(rel: str) -> str:
    """The cluster YAML of a disaggregated or semi-PD design, beside its design YAML."""
    return rel.removesuffix(".yaml") + ".cluster.yaml"


def simulator_args(*, folder: Path, rel: str, problem: SearchProblem, archive: Archive,
                designs: pd.DataFrame, i: int) -> ServeArgs | ClusterArgs:
    """The simulator run of a design: ``ador serve`` (colocated) or ``ador cluster`` on
    its cluster YAML (disaggregated, semi-PD)."""
    assert problem.serving is not None
    tp = int(designs.at[i, "tp"])
    if _deployment(problem, archive, i).policy in CLUSTER_POLICIES:
        return ClusterArgs(cluster=str(folder / _cluster_rel(rel)), setup=problem.serving,
                           tp=tp)
    row = problem.space.serving(archive.X[i:i + 1])[0]
    return ServeArgs(hardware=str(folder / rel), setup=problem.serving, tp=tp,
                     scheduler={k: v for k, v in row.items() if k not in DEPLOYMENT_FIELDS})


def write_design(*, folder: Path, rel: str, problem: SearchProblem, archive: Archive,
                  designs: pd.DataFrame, i: int, kind: str) -> None:
    """A design's YAML, its header naming the commands that reproduce its figures (and,
    deployed disaggregated or semi-PD, its cluster YAML beside it)."""
    did, run_name = designs.at[i, "id"], folder.name
    tp = int(designs.at[i, "tp"])
    hw = problem.space.spec_of(archive.X[i], name=f"{run_name}-{did}",
                               description=f"{kind} {did} of run {run_name} "
                                           f"(space {problem.space.name})")
    commands = evaluate_commands(problem, f"{folder / rel}", tp)
    if problem.serving is not None:
        run = simulator_args(folder=folder, rel=rel, problem=problem, archive=archive,
                          designs=designs, i=i)
        commands.append(run.command())
        if isinstance(run, ClusterArgs):
            sched = problem.serving.schedulers(problem.space.serving(archive.X[i:i + 1]))[0]
            cluster = cluster_spec(hardware=str(folder / rel), tp=tp, scheduler=sched,
                                   deployment=_deployment(problem, archive, i))
            write_yaml_spec(Path(run.cluster), cluster, header=(
                f"{DEPLOYMENT_TITLES[cluster.policy]} deployment of {kind.lower()} {did} "
                f"of run {run_name}. "
                f"Reproduce its serving figures with:\n{run.command()}"))
    header = (f"{kind} of an ador search. Reproduce its numbers with:\n"
              + "\n".join(commands)
              + "\nKnobs: " + ", ".join(f"{k}={designs.at[i, k]}"
                                         for k in problem.space.names))
    write_yaml_spec(folder / rel, hw, header=header)


def confirm_designs(*, folder: Path, problem: SearchProblem, archive: Archive,
             designs: pd.DataFrame, front: np.ndarray, yaml_of: dict[int, str]
             ) -> Confirmation:
    """Simulate the chosen designs (module ador.search.confirm); sampled designs get a
    YAML of their own in the ``confirmed`` folder."""
    spec = problem.spec
    assert spec.serving is not None
    picks = pick_designs(F=archive.F, feasible=archive.feasible, front=front,
                         n_pareto=spec.serving.confirm_pareto,
                         n_sample=spec.serving.confirm_sample, seed=spec.search.seed)
    args = []
    for p in picks:
        rel = yaml_of.get(p.index)
        if rel is None:
            rel = f"{FILES['confirmed_dir']}/{designs.at[p.index, 'id']}.yaml"
            (folder / FILES["confirmed_dir"]).mkdir(exist_ok=True)
            write_design(folder=folder, rel=rel, problem=problem, archive=archive,
                          designs=designs, i=p.index,
                          kind="Design (sampled for the simulator's confirmation)")
        args.append(simulator_args(folder=folder, rel=rel, problem=problem, archive=archive,
                                designs=designs, i=p.index))
    return confirm(picks=picks, args=args, ids=[designs.at[p.index, "id"] for p in picks],
                   static=_pick_figures(problem, archive, picks),
                   estimated=archive.metrics, workers=spec.search.workers or 1)


def _pick_figures(problem: SearchProblem, archive: Archive, picks: list
                        ) -> dict[str, np.ndarray]:
    """The archive's per-chip figures, a disaggregated pick's replaced by the mean over
    its deployment's chips (the rule the estimate used)."""
    out = {k: np.array(v, dtype=float) for k, v in archive.metrics.items()}
    for p in picks:
        dep = _deployment(problem, archive, p.index)
        if dep.policy != "disaggregated":
            continue
        tp = int(out["tp"][p.index])
        _, mean = deployment_figures(
            dep, tp=tp, own={d.column: float(out[d.column][p.index])
                             for _, d in GOODPUT_PER_FIGURE},
            pool_figures=problem.pool_figures)
        for k, v in mean.items():
            out[k][p.index] = v
    return out


def serving_summary(problem: SearchProblem) -> dict:
    s = problem.serving
    assert s is not None
    return {"workload": s.workload_ref, "num_requests": int(s.requests.n),
            "rate_per_s": s.rate_per_s, "ttft_slo_s": s.ttft_slo_s, "tpot_slo_s": s.tpot_slo_s,
            "attainment": s.attainment, "model": s.model_name, "precision": s.precision,
            "scheduler": s.scheduler.model_dump(mode="json", exclude={"grouping"}),
            "deployment": s.deployment.model_dump(mode="json")}


__all__ = ["confirm_designs", "evaluate_commands", "serving_summary", "simulator_args",
           "write_design"]
