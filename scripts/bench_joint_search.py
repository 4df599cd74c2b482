"""Wall time of a joint hardware and serving search with one and with N worker processes.

Runs problems/ador-joint.yaml (the ador-joint space: hardware knobs plus scheduler, chunk
size, running-request cap and KV memory share; goodput per mm² and P99 TPOT on the Azure
conversation trace) with the Optuna backend, once per worker count, each into a fresh run
folder, and prints the wall time of the whole run (search plus the simulator's
confirmations) and of the confirmations alone. With N workers, N processes share the
Optuna study (journal file) and the confirmations run in a pool of N processes.

Usage: python scripts/bench_joint_search.py [--workers 1 2] [--trials 1024] [--pop-size 64]
       [--confirm-pareto 12] [--confirm-sample 8] [--out-dir /tmp/ador-bench-joint]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ador.search.explore import run_search
from ador.spec.io import load_problem

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "problems" / "ador-joint.yaml")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--trials", type=int, default=1024)
    ap.add_argument("--pop-size", type=int, default=64)
    ap.add_argument("--confirm-pareto", type=int, default=12)
    ap.add_argument("--confirm-sample", type=int, default=8)
    ap.add_argument("--out-dir", type=Path, default=None)
    args = ap.parse_args()
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="ador-bench-joint-"))
    base = load_problem(args.config)
    assert base.serving is not None
    serving = base.serving.model_copy(update={"confirm_pareto": args.confirm_pareto,
                                              "confirm_sample": args.confirm_sample})
    print(f"{args.config.name}: {args.trials} trials (Optuna NSGA-II, batches of "
          f"{args.pop_size}), {serving.num_requests} requests of {serving.workload}, "
          f"{args.confirm_pareto} Pareto + {args.confirm_sample} sampled confirmations")
    print(f"{'workers':>7s} {'wall s':>8s} {'confirm s':>10s} {'designs':>8s} {'confirmed':>9s}")
    for w in args.workers:
        search = base.search.model_copy(update={
            "backend": "optuna", "trials": args.trials, "pop_size": args.pop_size,
            "workers": w})
        spec = base.model_copy(update={"search": search, "serving": serving,
                                       "name": f"bench-w{w}"})
        started = time.perf_counter()
        result = run_search(spec, out_dir=out, config_file=str(args.config))
        wall = time.perf_counter() - started
        conf = result.summary["serving"]["confirmation"]
        print(f"{w:7d} {wall:8.1f} {conf['elapsed_s']:10.1f} {result.summary['evaluations']:8d} "
              f"{conf['designs']:9d}")
    print(f"run folders in {out}")


if __name__ == "__main__":
    main()
