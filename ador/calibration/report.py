"""Operator-level error of a calibrated GPU against every measured row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ador.calibration.fit import _groups
from ador.calibration.predict import allreduce_prediction, attention_operator, kernel_time
from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_model


@dataclass(frozen=True)
class OperatorError:
    hardware: str
    op_type: str
    rows: int
    mape: float
    median_ape: float
    max_ape: float


def predictions(*, hardware: HardwareSpec, mlp: pd.DataFrame, attention: pd.DataFrame | None,
                allreduce: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of op_type, tokens (or size), measured_s and predicted_s for one GPU."""
    d = DesignArrays.from_specs([hardware])
    frames = []
    for g in _groups(mlp, subsample=False):
        frames.append(pd.DataFrame({
            "op_type": g.op_type, "op": g.op.name, "tp": g.tp, "tokens": g.tokens,
            "measured_s": g.measured,
            "predicted_s": kernel_time(designs=d, op=g.op, tp=g.tp)[0]}))
    if attention is not None and len(attention):
        pred = [kernel_time(designs=d, op=attention_operator(
            model=load_model(r.model), tp=int(r.tp), prefill=bool(r.prefill),
            batch=int(r.batch), chunk=int(r.chunk), context=int(r.context)), tp=int(r.tp))[0, 0]
            for r in attention.itertuples()]
        frames.append(pd.DataFrame({
            "op_type": attention["op_type"], "op": "attention", "tp": attention["tp"],
            "tokens": np.where(attention["prefill"], attention["chunk"], attention["batch"]),
            "measured_s": attention["measured_s"], "predicted_s": pred}))
    if allreduce is not None and len(allreduce):
        pred = allreduce_prediction(designs=d, chips=allreduce["chips"].to_numpy(),
                                    size_bytes=allreduce["size_bytes"].to_numpy())[0]
        frames.append(pd.DataFrame({
            "op_type": "allreduce", "op": "allreduce", "tp": allreduce["chips"],
            "tokens": allreduce["size_bytes"], "measured_s": allreduce["measured_s"],
            "predicted_s": pred}))
    out = pd.concat(frames, ignore_index=True)
    out["ape"] = (out["predicted_s"] - out["measured_s"]).abs() / out["measured_s"]
    return out


def operator_errors(hardware: str, preds: pd.DataFrame) -> list[OperatorError]:
    rows = []
    for op_type, g in preds.groupby("op_type", sort=True):
        rows.append(OperatorError(hardware=hardware, op_type=str(op_type), rows=len(g),
                                  mape=float(g["ape"].mean()),
                                  median_ape=float(g["ape"].median()),
                                  max_ape=float(g["ape"].max())))
    return rows
