"""The only module that reads or writes YAML: load specs by path or by name, dump them back.

Every failure becomes one :class:`~ador.errors.SpecError` naming the file, the field path,
the rule and the offending value.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ador.errors import AdorError, SpecError
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.scenario import ScenarioFile

T = TypeVar("T", bound=BaseModel)

# Names people may use for the GPU templates.
ALIASES = {"a100": "a100-sxm-80gb", "h100": "h100-sxm-80gb", "h200": "h200-sxm-141gb"}


def project_root() -> Path:
    """Folder holding hwtemplates/ and workloads/ (``ADOR_HOME`` overrides)."""
    env = os.environ.get("ADOR_HOME")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def templates_dir() -> Path:
    return project_root() / "hwtemplates"


def models_dir() -> Path:
    return project_root() / "workloads" / "models"


def scenarios_dir() -> Path:
    return project_root() / "workloads" / "scenarios"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; malformed YAML is a SpecError with the line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", file=str(path)) from None
    except OSError as err:
        raise SpecError(f"cannot read file: {err.strerror}", file=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid syntax"
        raise SpecError(f"malformed YAML{where}: {problem}", file=str(path)) from None


def validate_data(cls: type[T], data: Any, *, file: str) -> T:
    """Build ``cls`` from plain data; the first validation error becomes a SpecError."""
    if not isinstance(data, dict):
        raise SpecError(f"expected a mapping of fields for a {cls.__name__}",
                        file=file, value=type(data).__name__)
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise spec_error_from(err, file=file) from None


def spec_error_from(err: ValidationError, *, file: str) -> SpecError:
    first = err.errors()[0]
    field = _field_path(first.get("loc", ()))
    rule = _rule(first)
    value = first.get("input")
    show = first.get("type") not in {"missing"} and not isinstance(value, dict)
    return SpecError(rule, file=file, field=field or None, value=value, show_value=show)


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in {"systolic_array", "mac_tree", "vector_unit"} and path.endswith("]"):
            continue  # discriminator tag that pydantic inserts in the location
        else:
            path += f".{part}" if path else str(part)
    return path


def _rule(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (not part of the spec)"
    if kind == "missing":
        return "required field is missing"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def load_spec(cls: type[T], path: Path) -> T:
    return validate_data(cls, read_yaml(path), file=str(path))


def _resolve(name_or_path: str, folder: Path, what: str, aliases: dict[str, str]) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.exists():
            raise SpecError("file not found", file=str(candidate))
        return candidate
    name = aliases.get(name_or_path, name_or_path)
    for suffix in (".yaml", ".yml"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.exists() else []
    raise SpecError(f"unknown {what} name; known: {', '.join(known + sorted(aliases))}",
                    value=name_or_path)


def hardware_path(name_or_path: str) -> Path:
    return _resolve(name_or_path, templates_dir(), "hardware template", ALIASES)


def load_hardware(name_or_path: str | Path) -> HardwareSpec:
    """Load a hardware spec from a YAML path or a template name (``a100``, ``ador-hetero``)."""
    return load_spec(HardwareSpec, hardware_path(str(name_or_path)))


def load_model(name_or_path: str | Path) -> ModelSpec:
    """Load a model spec from a YAML path or a name in workloads/models (``llama3-8b``)."""
    return load_spec(ModelSpec, _resolve(str(name_or_path), models_dir(), "model", {}))


def load_scenario_file(name_or_path: str | Path) -> ScenarioFile:
    return load_spec(ScenarioFile, _resolve(str(name_or_path), scenarios_dir(), "scenario", {}))


def serving_workloads_dir() -> Path:
    return project_root() / "workloads" / "serving"


def load_serving_workload(name_or_path: str | Path):
    """Load a serving workload (ServingWorkloadSpec) from a YAML path or a name in
    workloads/serving (``conv-trace``)."""
    from ador.spec.serving import ServingWorkloadSpec

    return load_spec(ServingWorkloadSpec,
                     _resolve(str(name_or_path), serving_workloads_dir(), "serving workload", {}))


def clusters_dir() -> Path:
    return project_root() / "workloads" / "clusters"


def load_cluster(name_or_path: str | Path):
    """Load a serving cluster and policy (ClusterSpec) from a YAML path or a name in
    workloads/clusters (``pd-2p1d``)."""
    from ador.spec.cluster import ClusterSpec

    return load_spec(ClusterSpec, _resolve(str(name_or_path), clusters_dir(), "cluster", {}))


def spaces_dir() -> Path:
    return templates_dir() / "spaces"


def space_path(name_or_path: str | Path) -> Path:
    return _resolve(str(name_or_path), spaces_dir(), "design space", {})


def load_space(name_or_path: str | Path):
    """Load a design space (SpaceSpec) from a YAML path or a name in hwtemplates/spaces."""
    from ador.spec.space import SpaceSpec

    return load_spec(SpaceSpec, space_path(name_or_path))


def load_problem(path: str | Path):
    """Load a search problem (ProblemSpec) from a YAML file."""
    from ador.spec.problem import ProblemSpec

    return load_spec(ProblemSpec, Path(path))


def list_templates() -> list[str]:
    return sorted(p.stem for p in templates_dir().glob("*.yaml"))


def list_models() -> list[str]:
    return sorted(p.stem for p in models_dir().glob("*.yaml"))


def detect_kind(data: Any) -> type[BaseModel] | None:
    """Guess which spec a parsed YAML document is, from its top-level keys."""
    if not isinstance(data, dict):
        return None
    if "chip" in data:
        return HardwareSpec
    if "layers" in data and "hidden" in data:
        return ModelSpec
    if "scenario" in data and "model" in data:
        return ScenarioFile
    if "lengths" in data and "arrivals" in data:
        from ador.spec.serving import ServingWorkloadSpec

        return ServingWorkloadSpec
    if "policy" in data and ("pool" in data or "prefill" in data):
        from ador.spec.cluster import ClusterSpec

        return ClusterSpec
    return None


def validate_file(path: Path) -> BaseModel:
    """Validate any spec file, picking its kind from its contents."""
    data = read_yaml(path)
    cls = detect_kind(data)
    if cls is None:
        raise SpecError("cannot tell the spec kind: expected a hardware spec (key 'chip'), "
                        "a model spec (keys 'layers', 'hidden'), a scenario ('scenario'), a "
                        "serving workload ('lengths', 'arrivals') or a cluster ('policy', "
                        "'pool' or 'prefill')",
                        file=str(path))
    return validate_data(cls, data, file=str(path))


def dump_yaml(spec: BaseModel, *, header: str = "") -> str:
    """YAML text of a spec in SI units; loading it gives back an equal spec."""
    data = spec.model_dump(mode="json", exclude_none=True)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    prefix = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return prefix + body


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, with the usual
    permissions (0666 less the umask; the temporary file starts as 0600)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise AdorError(f"cannot write file: {err.strerror}", file=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise AdorError(f"cannot write file: {err.strerror}", file=str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_spec(path: Path, spec: BaseModel, *, header: str = "") -> None:
    write_text_atomic(path, dump_yaml(spec, header=header))


def json_schema() -> str:
    """JSON Schema of the hardware spec, for editor completion and validation."""
    schema = HardwareSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ador hardware spec"
    return json.dumps(schema, indent=2)




CALIBRATION_MARK = "  # calibration: written by `ador calibrate`; do not edit by hand"


def replace_calibration_block(path: Path, calibration: BaseModel) -> None:
    """Rewrite the ``chip.calibration`` block of a hardware YAML in place, keeping the rest of
    the file (comments included) byte for byte. The block goes last in ``chip:``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    body = yaml.safe_dump({"calibration": calibration.model_dump(mode="json")},
                          sort_keys=False, width=88)
    block = [CALIBRATION_MARK] + ["  " + line for line in body.splitlines()]
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line == CALIBRATION_MARK or line.startswith("  calibration:"):
            skipping = True
            continue
        if skipping and (line.startswith("    ") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    try:
        end = next(i for i, line in enumerate(kept) if line.startswith("system:"))
    except StopIteration:
        end = len(kept)
    text = "\n".join(kept[:end] + block + kept[end:]) + "\n"
    data = yaml.safe_load(text)
    validate_data(HardwareSpec, data, file=str(path))
    write_text_atomic(path, text)
