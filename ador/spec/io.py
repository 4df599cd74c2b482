"""The only module that reads or writes YAML: load specs by path or by name, dump them back.

Every failure becomes one :class:`~ador.errors.SpecError` naming the file, the field path,
the rule and the offending value.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ador.errors import AdorError, SpecError, UnitError, short_repr
from ador.spec.hardware import UNIT_KINDS, HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.quantities import plain_number, with_units
from ador.spec.scenario import ScenarioFile
from ador.units import plain_number_rule

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


# Limits of a spec file: far above any real spec (the largest shipped file is a few KB, nested
# five deep), far below what would take seconds or gigabytes to parse and validate.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_VALUES = 10_000
# Whole numbers beyond 2^53 are not exactly representable as floats, which ador computes in.
MAX_INT = 2**53
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Refused(Exception):
    """A YAML feature or size that spec files do not use, refused while parsing."""

    def __init__(self, rule: str, mark: Any = None) -> None:
        super().__init__(rule)
        self.rule = rule
        self.mark = mark


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.1 plain-value types less timestamps: ``name: 2024-01-02`` stays text."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()}


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe construction that refuses duplicate keys and integers beyond 2^53."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    raise _Refused("a mapping key must be a plain value",
                                   key_node.start_mark) from None
                if first is not None:
                    raise _Refused(f"duplicate key {short_repr(key)} at lines {first} and "
                                   f"{line} (each key may appear once)")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        value = super().construct_yaml_int(node)
        if abs(value) > MAX_INT:
            raise _Refused(f"integer too large: more than 2^53, beyond exact float range "
                           f"(got {short_repr(node.value)})", node.start_mark)
        return value


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)

if getattr(yaml, "__with_libyaml__", False):
    _Parser: Any = yaml.cyaml.CParser

    class _SpecLoader(yaml.cyaml.CParser, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)
else:  # pragma: no cover - PyYAML without libyaml
    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner,  # type: ignore[no-redef]
                  yaml.parser.Parser):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)

    class _SpecLoader(yaml.reader.Reader, yaml.scanner.Scanner,  # type: ignore[no-redef]
                      yaml.parser.Parser, yaml.composer.Composer, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Constructor.__init__(self)
            _Resolver.__init__(self)


def _scan_events(text: str) -> bool:
    """First pass over the parser's events (no tree is built): refuse tags, nesting deeper
    than MAX_DEPTH and more than MAX_VALUES values before anything is composed. True when
    the document has aliases."""
    parser = _Parser(text)
    depth = count = 0
    aliases = False
    try:
        while parser.check_event():
            event = parser.get_event()
            tag = getattr(event, "tag", None)
            if tag is not None and tag != "!":
                tag = tag.replace("tag:yaml.org,2002:", "!!")
                raise _Refused(f"YAML tags are not allowed in spec files (found "
                               f"{short_repr(tag)})", event.start_mark)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep",
                                   event.start_mark)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases = True
            count += 1
            if count > MAX_VALUES:
                raise _Refused(f"more than {MAX_VALUES} values", event.start_mark)
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()
    return aliases


def _count_values(root: Any) -> None:
    """Refuse a document that aliases expand past MAX_VALUES values, or that refers to
    itself; each distinct node is visited once, so a 'billion laughs' file costs nothing."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            open_nodes.discard(key)
            if sizes[key] > MAX_VALUES:
                raise _Refused(f"more than {MAX_VALUES} values once aliases are expanded",
                               node.start_mark)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _Refused("an alias refers to the node that contains it", node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _read_text(path: Path) -> str:
    """The file's text: a regular file of at most MAX_FILE_BYTES, in UTF-8."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("not a regular file (spec files are YAML text files)",
                            file=str(path))
        if info.st_size > MAX_FILE_BYTES:
            raise SpecError(f"file too large for a spec ({info.st_size} bytes; at most "
                            f"{MAX_FILE_BYTES})", file=str(path))
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError("file not found", file=str(path)) from None
    except OSError as err:
        raise SpecError(f"cannot read file: {err.strerror}", file=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(f"file too large for a spec (at most {MAX_FILE_BYTES} bytes)",
                        file=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise SpecError(f"not UTF-8 text: byte 0x{raw[err.start]:02x} at line {line}",
                        file=str(path)) from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML spec file; malformed YAML is a SpecError with the line and column.

    Refused with one line each: non-regular and oversized files, bytes that are not UTF-8,
    YAML tags, duplicate keys, nesting deeper than MAX_DEPTH, alias expansion past
    MAX_VALUES values and integers beyond 2^53. Dates stay text (``name: 2024-01-02``).
    """
    path = Path(path)
    text = _read_text(path)
    try:
        aliases = _scan_events(text)
        loader = _SpecLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if aliases:
                _count_values(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except _Refused as err:
        raise SpecError(err.rule + _where(err.mark), file=str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or "invalid syntax"
        if isinstance(err, yaml.reader.ReaderError):
            code = err.character if isinstance(err.character, int) else ord(
                str(err.character)[:1] or "\0")
            line = text[:max(int(err.position), 0)].count("\n") + 1
            problem = f"character U+{code:04X} is not allowed (line {line})"
        elif not hasattr(err, "problem"):
            problem = str(err).splitlines()[0] if str(err) else problem
        elif getattr(err, "context", None):
            problem = f"{err.context} ... {problem}"
        raise SpecError(f"malformed YAML{_where(mark)}: {problem}", file=str(path)) from None
    except RecursionError:
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=str(path)) from None


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def validate_data(cls: type[T], data: Any, *, file: str, units_required: bool = True) -> T:
    """Build ``cls`` from data people wrote (a YAML file, command-line options); the first
    validation error becomes a SpecError. Quantities must carry units here: a bare number
    in a dimensioned field (``clock_hz: 1.2``) is refused, unless ``units_required`` is
    False (files of run folders written before ador wrote units, read as SI)."""
    if not isinstance(data, dict):
        raise SpecError(f"expected a mapping of fields for a {cls.__name__}",
                        file=file, value=type(data).__name__)
    _check_integers(data, file=file)
    plain = plain_number(cls, data) if units_required else None
    if plain is not None:
        field, value, dimension = plain
        raise UnitError(plain_number_rule(dimension), file=file, field=field, value=value)
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise spec_error_from(err, file=file) from None


def _check_integers(data: Any, *, file: str, path: str = "", depth: int = 0) -> None:
    """Whole numbers beyond 2^53 (``--batch 1`` and 309 zeros) are refused by field."""
    if depth > MAX_DEPTH:
        return
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        sub = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise SpecError("integer too large: more than 2^53, beyond exact float range",
                            file=file, field=sub, value=value)
        _check_integers(value, file=file, path=sub, depth=depth + 1)


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
        elif part in UNIT_KINDS and path.endswith("]"):
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


def load_spec(cls: type[T], path: Path, *, units_required: bool = True) -> T:
    return validate_data(cls, read_yaml(path), file=str(path), units_required=units_required)


def _resolve(name_or_path: str, folder: Path, what: str, aliases: dict[str, str]) -> Path:
    """The file of a spec given by path or by name; names match without regard to case
    (``H100``, ``llama3-8B``), and an unknown name gets the closest known ones."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.exists():
            raise SpecError("file not found", file=str(candidate))
        return candidate
    known = _names(folder)
    lowered = {k.lower(): k for k in known + sorted(aliases)}
    name = lowered.get(name_or_path.lower(), name_or_path)
    name = aliases.get(name, name)
    for suffix in (".yaml", ".yml"):
        path = folder / f"{name}{suffix}"
        if path.exists():
            return path
    close = difflib.get_close_matches(name_or_path.lower(), list(lowered), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(lowered[c]) for c in close)}? " if close else ""
    raise SpecError(f"unknown {what} name; {hint}known: {', '.join(known + sorted(aliases))} "
                    f"(`ador list` shows them)", value=name_or_path)


def _names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted({p.stem for pattern in ("*.yaml", "*.yml") for p in folder.glob(pattern)})


def model_path(name_or_path: str) -> Path:
    return _resolve(name_or_path, models_dir(), "model", {})


def hardware_path(name_or_path: str) -> Path:
    return _resolve(name_or_path, templates_dir(), "hardware template", ALIASES)


def load_hardware(name_or_path: str | Path, *, units_required: bool = True) -> HardwareSpec:
    """Load a hardware spec from a YAML path or a template name (``a100``, ``ador-hetero``);
    ``units_required=False`` reads bare numbers as SI (see :func:`validate_data`)."""
    return load_spec(HardwareSpec, hardware_path(str(name_or_path)),
                     units_required=units_required)


def load_model(name_or_path: str | Path) -> ModelSpec:
    """Load a model spec from a YAML path or a name in workloads/models (``llama3-8b``)."""
    return load_spec(ModelSpec, model_path(str(name_or_path)))


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


def load_problem(path: str | Path, *, units_required: bool = True):
    """Load a search problem (ProblemSpec) from a YAML file."""
    from ador.spec.problem import ProblemSpec

    return load_spec(ProblemSpec, Path(path), units_required=units_required)


def check_problem_names(problem: Any, *, file: str) -> None:
    """The models, space and baselines a problem names exist, and every scenario fits its
    model's context length; else a SpecError naming ``file`` and the field."""
    def check(field: str, value: str, find: Any) -> Any:
        try:
            return find(value)
        except SpecError as err:
            raise SpecError(err.rule, file=file, field=field, value=value) from None

    for i, sc in enumerate(problem.scenarios):
        model = load_spec(ModelSpec, check(f"scenarios[{i}].model", sc.model, model_path))
        tokens = sc.input_len + sc.output_len
        if tokens > model.max_context:
            raise SpecError(context_rule(model, tokens), file=file,
                            field=f"scenarios[{i}].output_len", value=sc.output_len)
    check("space", problem.space, space_path)
    for i, name in enumerate(problem.baselines):
        check(f"baselines[{i}]", name, hardware_path)


def context_rule(model: ModelSpec, tokens: int) -> str:
    return (f"input_len + output_len = {tokens} tokens exceeds the context length of "
            f"{model.name} ({model.max_context} tokens)")


def list_templates() -> list[str]:
    return _names(templates_dir())


def list_models() -> list[str]:
    return _names(models_dir())


def list_spaces() -> list[str]:
    return _names(spaces_dir())


def problems_dir() -> Path:
    return project_root() / "problems"


def list_problems() -> list[str]:
    return _names(problems_dir())


PROBLEM_KEYS = frozenset({"scenarios", "slo", "budgets", "objectives", "baselines", "search",
                          "space"})


def detect_kind(data: Any) -> type[BaseModel] | None:
    """Guess which spec a parsed YAML document is, from its top-level keys."""
    from ador.spec.problem import ProblemSpec
    from ador.spec.space import SpaceSpec

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
    if "knobs" in data:
        return SpaceSpec
    if PROBLEM_KEYS & {k for k in data if isinstance(k, str)}:
        return ProblemSpec
    return None


def validate_file(path: Path) -> BaseModel:
    """Validate any spec file (hardware, model, scenario, design space or problem), picking
    its kind from its contents; a problem's model, space and baseline names must exist."""
    from ador.spec.problem import ProblemSpec

    data = read_yaml(path)
    cls = detect_kind(data)
    if cls is None:
        raise SpecError("cannot tell the spec kind: expected a hardware spec (key 'chip'), "
                        "a model spec (keys 'layers', 'hidden'), a scenario ('scenario'), "
                        "a design space ('knobs'), a problem ('scenarios', 'slo', ...), a "
                        "serving workload ('lengths', 'arrivals') or a cluster ('policy', "
                        "'pool' or 'prefill')",
                        file=str(path))
    spec = validate_data(cls, data, file=str(path))
    if isinstance(spec, ProblemSpec):
        check_problem_names(spec, file=str(path))
    if isinstance(spec, ScenarioFile):
        try:
            model = load_model(spec.model)
        except SpecError as err:
            raise SpecError(err.rule, file=str(path), field="model", value=spec.model) from None
        tokens = spec.scenario.input_len + spec.scenario.output_len
        if tokens > model.max_context:
            raise SpecError(context_rule(model, tokens), file=str(path),
                            field="scenario.output_len", value=spec.scenario.output_len)
    return spec


def to_data(spec: BaseModel, *, exclude_none: bool = False) -> Any:
    """Plain data of a spec as a person would write it: quantities as unit strings that
    read back as exactly the same floats; ``validate_data`` accepts it."""
    return with_units(type(spec), spec.model_dump(mode="json", exclude_none=exclude_none))


def dump_yaml(spec: BaseModel, *, header: str = "") -> str:
    """YAML text of a spec, quantities with units; loading it gives back an equal spec."""
    data = to_data(spec, exclude_none=True)
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


CALIBRATION_MARK = "  # calibration: written by `ador calibrate`; do not edit by hand"


def replace_calibration_block(path: Path, calibration: BaseModel) -> None:
    """Rewrite the ``chip.calibration`` block of a hardware YAML in place, keeping the rest of
    the file (comments included) byte for byte. The block goes last in ``chip:``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    body = yaml.safe_dump({"calibration": to_data(calibration)},
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
    data = yaml.load(text, Loader=_SpecLoader)
    validate_data(HardwareSpec, data, file=str(path))
    write_text_atomic(path, text)
