"""What ``ador policies`` does: a serving workload's requests through every policy on
every hardware choice (``ador.serve.policy_grid``), written to a run folder."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ador.errors import SpecError
from ador.metrics import TPOT, TTFT
from ador.serve.policy_grid import GoodputPoint, PolicyGrid, grid_config, run_policy_grid
from ador.serve.policy_runfolder import write_policy_run

# GridConfig field -> the command-line option that sets it
OPTION_OF = {"hardware": "--hardware", "policies": "--policy", "chips": "--chips", "tp": "--tp",
             "ttft_slo_s": "--ttft-slo", "tpot_slo_s": "--tpot-slo",
             "attainment": "--attainment", "rate_fractions": "--rates"}


def run_policy_comparison(*, workload: str | Path, model: str, hardware: Sequence[str] | None,
                          policies: Sequence[str] | None, chips: int = 2, tp: int = 1,
                          ttft_slo: str | None = None, tpot_slo: str | None = None,
                          attainment: float = 0.9,
                          rate_fractions: Sequence[float] | None = None,
                          overrides: Mapping[str, Any] | None = None,
                          out_dir: Path | None = None, name: str | None = None,
                          progress: Callable[[GoodputPoint], None] | None = None
                          ) -> tuple[PolicyGrid, Path | None]:
    """Run the grid on ``workload`` (a name in workloads/serving or a YAML path; SLOs from
    the options, else from the workload) and, with ``out_dir``, write its run folder.
    Every input is checked before the first simulation."""
    from ador.serve.policy_grid import DEFAULT_RATE_FRACTIONS
    from ador.serve.runner import resolve_slo
    from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
    from ador.spec.io import load_model, to_data

    spec, base_dir = load_workload(workload)
    slo = resolve_slo(spec, ttft=ttft_slo, tpot=tpot_slo)
    if slo is None:
        raise SpecError("the comparison needs both SLOs: give --ttft-slo and --tpot-slo or "
                        "an 'slo' block in the workload", field="--ttft-slo")
    fractions = tuple(DEFAULT_RATE_FRACTIONS if rate_fractions is None else rate_fractions)
    try:
        config = grid_config(hardware=hardware, policies=policies, chips=chips, tp=tp,
                             ttft_slo_s=slo[TTFT.column], tpot_slo_s=slo[TPOT.column],
                             attainment=attainment, rate_fractions=fractions)
    except SpecError as err:
        if err.field not in OPTION_OF:
            raise
        raise SpecError(err.rule, field=OPTION_OF[err.field], value=err.value) from None
    m = load_model(model)
    if out_dir is not None:
        _writable(Path(out_dir))
    requests = requests_from_spec(spec, base_dir=base_dir, overrides=overrides)
    if requests.concurrency is not None:
        raise SpecError("goodput needs an open-loop workload (arrival rates), not a closed "
                        "loop", field="arrivals", value="closed_loop")
    grid = run_policy_grid(config=config, model=m, requests=requests, progress=progress)
    if out_dir is None:
        return grid, None
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    folder = write_policy_run(
        Path(out_dir), name=name or f"policies-{spec.name}", grid=grid, requests=requests,
        workload={"name": spec.name, "source": str(workload),
                  "spec": to_data(apply_overrides(spec, given), exclude_none=True),
                  "overrides": given})
    return grid, folder


def _writable(out_dir: Path) -> None:
    """Refuse an output folder that cannot be made before hours of simulation, not after."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpecError(f"cannot create the output folder: {err.strerror}", field="--out",
                        value=str(out_dir)) from None
    if not out_dir.is_dir():
        raise SpecError("the output path is not a folder", field="--out", value=str(out_dir))
