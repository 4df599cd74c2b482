"""Read a search's run folder back as pandas DataFrames (the layout is documented in
``ador.search.runfolder``); ``ador.load_run(path)`` is this module's :func:`load_run`.

>>> run = load_run("results/explore-20250101-120000")   # doctest: +SKIP
>>> run.pareto[["id", "throughput_per_chip_tok_s"]]      # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ador.errors import AdorError
from ador.metrics import METRICS
from ador.runfolders import read_csv
from ador.spec.io import read_yaml

REQUIRED = ("designs.csv", "pareto.csv")
# Columns of designs.csv that are not knobs (metrics, constraints and bookkeeping).
NON_KNOB = frozenset({"id", "generation", "batch", "feasible", "yaml", "memory_bytes",
                      *(m.column for m in METRICS)})


@dataclass(frozen=True)
class Run:
    """One run folder: every evaluated design, the Pareto set, the baselines and run facts."""

    path: Path
    designs: pd.DataFrame
    pareto: pd.DataFrame
    baselines: pd.DataFrame
    hypervolume: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    space: dict = field(default_factory=dict)
    status_file: dict = field(default_factory=dict)  # status.json
    # a serving search's designs re-run by the simulator (confirmed.csv), estimate beside
    confirmed: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def status(self) -> str:
        """``complete``, or ``incomplete`` for a run killed (or still running) before it
        wrote all its results; runs of earlier versions (no status.json) are complete."""
        return str(self.status_file.get("status", "complete"))

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def objectives(self) -> list[str]:
        """Objective names, in the problem's order (``throughput_per_chip``, ``tpot``...)."""
        names = self.config.get("objectives")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
        return [c[len("obj_"):] for c in self.designs.columns if c.startswith("obj_")]

    @property
    def knobs(self) -> list[str]:
        """Knob column names, in the space's order."""
        knobs = self.space.get("knobs") if isinstance(self.space, dict) else None
        if isinstance(knobs, list) and knobs:
            names = [str(k.get("name")) for k in knobs if isinstance(k, dict)]
            return [n for n in names if n in self.designs.columns]
        return [c for c in self.designs.columns
                if c not in NON_KNOB and not c.startswith(("g_", "obj_")) and ":" not in c]

    @property
    def knob_units(self) -> dict[str, str]:
        """Knob name -> unit dimension (``bytes``, ``hz``...) where the space gives one."""
        knobs = self.space.get("knobs") if isinstance(self.space, dict) else None
        return {k["name"]: k["unit"] for k in knobs or []
                if isinstance(k, dict) and k.get("name") and k.get("unit")}


def _csv(path: Path, *, required: bool) -> pd.DataFrame:
    return read_csv(path, missing=f"not a run folder: {path.name} is missing (rule: a run "
                                  f"folder written by 'ador explore' holds "
                                  f"{' and '.join(REQUIRED)})" if required else None)


def _yaml(path: Path) -> dict:
    if not path.exists():
        return {}
    data = read_yaml(path)
    return data if isinstance(data, dict) else {}


def _json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError) as err:
        raise AdorError(f"cannot read JSON: {err}", file=str(path)) from None
    return data if isinstance(data, dict) else {}


def load_run(path: str | Path) -> Run:
    """Load a run folder written by ``ador explore``.

    Raises AdorError (one line naming the path and the rule) when ``path`` does not exist,
    is not a folder, or lacks designs.csv / pareto.csv. Optional files (baselines.csv,
    hypervolume.csv, comparison.csv, confirmed.csv, summary.json, config.yaml, space.yaml)
    give empty frames or dicts when absent.
    """
    root = Path(path)
    if not root.exists():
        raise AdorError("run folder does not exist", file=str(root))
    if not root.is_dir():
        raise AdorError("not a run folder: expected a directory written by 'ador explore', "
                        "got a file", file=str(root))
    status = _json(root / "status.json")
    if status.get("status") == "incomplete" and not (root / "designs.csv").exists():
        raise AdorError("the run is incomplete: it stopped (or is still running) before "
                        "writing its results; an Optuna run continues with 'ador explore "
                        "--resume' (status.json: incomplete)", file=str(root))
    designs = _csv(root / "designs.csv", required=True)
    pareto = _csv(root / "pareto.csv", required=True)
    for name, frame in (("designs.csv", designs), ("pareto.csv", pareto)):
        if len(frame.columns) and "id" not in frame.columns:
            raise AdorError("not a run folder: no 'id' column (rule: every design row has "
                            "an id)", file=str(root / name), field="id")
    return Run(
        path=root,
        designs=designs,
        pareto=pareto,
        baselines=_csv(root / "baselines.csv", required=False),
        hypervolume=_csv(root / "hypervolume.csv", required=False),
        comparison=_csv(root / "comparison.csv", required=False),
        summary=_json(root / "summary.json"),
        config=_yaml(root / "config.yaml"),
        space=_yaml(root / "space.yaml"),
        status_file=status,
        confirmed=_csv(root / "confirmed.csv", required=False),
    )
