"""Error of the tabulated step-time model against direct evaluation with the cost model.

For each hardware template: random mixed iterations (decodes at random contexts plus
prefill chunks with prior context) against ``direct_step_time`` (operator by operator),
pure prefills of b x L and pure decode steps at batch b and context c against ador's
static-batch evaluator. Prints mean / p99 / max relative error.

    python scripts/check_step_model.py [--model llama3-8b] [--samples 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from ador.evaluate.engine import evaluate_population
from ador.model.design import DesignArrays
from ador.serve.api import default_step_model
from ador.serve.steptime import direct_step_time
from ador.spec.io import list_templates, load_hardware, load_model
from ador.spec.scenario import Scenario


def _fmt(errs) -> str:
    e = 100 * np.abs(np.asarray(errs))
    return f"mean {e.mean():.3f} %  p99 {np.percentile(e, 99):.3f} %  max {e.max():.3f} %"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="llama3-8b")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--tp", type=int, default=1)
    args = ap.parse_args()
    m = load_model(args.model)
    rng = np.random.default_rng(0)
    for name in list_templates():
        hw = load_hardware(name)
        sm = default_step_model(hardware=hw, model=m, tp=args.tp)
        d = DesignArrays.from_specs([hw])
        mixed, pre, dec = [], [], []
        for _ in range(args.samples):
            nd = int(rng.integers(0, 400))
            ctx = rng.integers(20, m.max_context - 1, nd)
            chunks = [(int(rng.integers(1, 2048)), int(rng.integers(0, 4000)))
                      for _ in range(int(rng.integers(0 if nd else 1, 4)))]
            got = sm.time(tokens=nd + sum(c for c, _ in chunks), sampled=nd + len(chunks),
                          decode_n=nd, decode_ctx_sum=float(ctx.sum()), chunks=chunks)
            want = direct_step_time(hardware=hw, model=m, tp=args.tp,
                                    decode_contexts=ctx.tolist(), chunks=chunks)
            mixed.append(got / want - 1)
        for _ in range(max(10, args.samples // 10)):
            b, L = int(rng.integers(1, 64)), int(rng.integers(1, 4096))
            L = min(L, 32768 // b)
            ref = evaluate_population(designs=d, model=m, scenario=Scenario.uniform(
                precision="fp16", batch=b, input_len=L, output_len=2, tp=args.tp))
            pre.append(sm.time(tokens=b * L, sampled=b, chunks=[(L, 0)] * b)
                       / float(ref.ttft[0]) - 1)
            b, c = int(rng.integers(1, 1024)), int(rng.integers(2, m.max_context))
            dec.append(sm.time(tokens=b, sampled=b, decode_n=b, decode_ctx_sum=b * c)
                       / float(evaluate_population(
                           designs=d, model=m, scenario=Scenario.uniform(
                               precision="fp16", batch=b, input_len=c - 1, output_len=2,
                               tp=args.tp)).tpot[0]) - 1)
        print(f"{name}: mixed {_fmt(mixed)} | prefill {_fmt(pre)} | decode {_fmt(dec)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
