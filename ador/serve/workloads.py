"""Requests of a serving workload: lengths and arrival times, deterministic for a seed.

``requests_from_spec`` turns a :class:`~ador.spec.serving.ServingWorkloadSpec` into a
:class:`~ador.serve.requests.RequestSet`; ``read_trace_csv`` reads a trace CSV
(``arrived_at,num_prefill_tokens,num_decode_tokens``) directly. Lengths and arrivals draw
from separate random streams of the seed, so changing the arrival process keeps the
lengths and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from ador.errors import SpecError
from ador.spec import serving as ws
from ador.spec.base import Spec
from ador.spec.io import project_root, to_data, validate_data
from ador.spec.quantities import PositiveInt

TIME_COLUMN = "arrived_at"
PROMPT_COLUMN = "num_prefill_tokens"
OUTPUT_COLUMN = "num_decode_tokens"
MAX_TRACE_BYTES = 256 << 20  # refuse larger files (about 10 million requests): bounded memory
MAX_TOKENS = 100_000_000  # per request; far beyond any model's context
MAX_REQUESTS = 10_000_000  # bounds the memory of one request set (a few hundred MB)
_OVERRIDES = ("rate", "concurrency", "max_load", "num_requests", "seed")


@dataclass(frozen=True)
class Trace:
    """A trace CSV's columns; ``arrival_s`` is None when the file has no timestamps."""
    path: Path
    arrival_s: np.ndarray | None
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return int(self.prompt_tokens.size)


# ----------------------------------------------------------------------- traces ----
def read_trace(path: str | Path) -> Trace:
    """Read a trace CSV; every malformed value is one SpecError naming file:line and column."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise SpecError("trace file not found", file=str(path))
    if path.stat().st_size > MAX_TRACE_BYTES:
        raise SpecError("trace file is larger than 256 MiB", file=str(path),
                        value=path.stat().st_size)
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SpecError(f"not a readable CSV: {str(err).splitlines()[0]}",
                        file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in (PROMPT_COLUMN, OUTPUT_COLUMN) if c not in frame.columns]
    if missing:
        raise SpecError(f"missing column(s) {', '.join(missing)} (rule: a trace has "
                        f"{PROMPT_COLUMN} and {OUTPUT_COLUMN}, and {TIME_COLUMN} in seconds "
                        f"for its own arrival times)", file=str(path), field="header",
                        value=",".join(frame.columns))
    if frame.empty:
        raise SpecError("trace has no requests", file=str(path))
    prompt = _token_column(frame, PROMPT_COLUMN, path)
    output = _token_column(frame, OUTPUT_COLUMN, path)
    times = _time_column(frame, path) if TIME_COLUMN in frame.columns else None
    return Trace(path=path, arrival_s=times, prompt_tokens=prompt, output_tokens=output)


def _numbers(frame, column: str, path: Path) -> np.ndarray:
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        shown = raw.iloc[i]
        raise SpecError("not a finite number", file=f"{path}:{i + 2}", field=column,
                        value="" if pd.isna(shown) else str(shown).strip())
    return values


def _text(value: float) -> str:
    return f"{value:g}"


def _token_column(frame, column: str, path: Path) -> np.ndarray:
    values = _numbers(frame, column, path)
    for bad, rule in ((values != np.round(values), "token counts must be integers"),
                      (values < 1, "token counts must be at least 1"),
                      (values > MAX_TOKENS, f"token counts must be at most {MAX_TOKENS:,}")):
        if bad.any():
            i = int(np.argmax(bad))
            raise SpecError(rule, file=f"{path}:{i + 2}", field=column,
                            value=_text(values[i]))
    return values.astype(np.int64)


def _time_column(frame, path: Path) -> np.ndarray:
    values = _numbers(frame, TIME_COLUMN, path)
    if (values < 0).any():
        i = int(np.argmax(values < 0))
        raise SpecError("arrival times must be >= 0 s", file=f"{path}:{i + 2}",
                        field=TIME_COLUMN, value=_text(values[i]))
    down = np.diff(values) < 0
    if down.any():
        i = int(np.argmax(down)) + 1
        raise SpecError("arrival times must not decrease (rule: rows sorted by arrived_at)",
                        file=f"{path}:{i + 2}", field=TIME_COLUMN, value=_text(values[i]))
    return values


def read_trace_csv(path: str | Path):
    """A trace CSV as a RequestSet with its own arrival times (shifted to start at 0); a
    trace without ``arrived_at`` gives every request arrival 0 (max load)."""
    trace = read_trace(path)
    times = (np.zeros(len(trace)) if trace.arrival_s is None
             else trace.arrival_s - trace.arrival_s[0])
    return _request_set(times, trace.prompt_tokens, trace.output_tokens, concurrency=None)


# ---------------------------------------------------------------------- lengths ----
def sample_lengths(dist: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` token counts (int64, >= 1) from one length distribution."""
    return _SAMPLERS[dist.kind](dist, n, rng)


def _fixed(d: ws.FixedDist, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.full(n, d.tokens, dtype=np.int64)


def _uniform(d: ws.UniformDist, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(d.min, d.max + 1, size=n, dtype=np.int64)


def _truncated(draw, d: Any, n: int) -> np.ndarray:
    """Rounded draws kept within [min, max] by redrawing the ones outside."""
    hi = np.inf if d.max is None else d.max
    out = np.rint(draw(n))
    for _ in range(100):
        bad = (out < d.min) | (out > hi)
        if not bad.any():
            return out.astype(np.int64)
        out[bad] = np.rint(draw(int(bad.sum())))
    raise SpecError("the distribution puts almost no mass within [min, max]", field="min",
                    value=[d.min, d.max])


def _normal(d: ws.NormalDist, n: int, rng: np.random.Generator) -> np.ndarray:
    return _truncated(lambda k: rng.normal(d.mean, d.std, size=k), d, n)


def _lognormal(d: ws.LogNormalDist, n: int, rng: np.random.Generator) -> np.ndarray:
    sigma2 = np.log1p((d.std / d.mean) ** 2)
    mu = np.log(d.mean) - sigma2 / 2  # E[X] = exp(mu + sigma^2 / 2) = mean
    return _truncated(lambda k: rng.lognormal(mu, np.sqrt(sigma2), size=k), d, n)


def _empirical(d: ws.EmpiricalDist, n: int, rng: np.random.Generator) -> np.ndarray:
    ps = np.array([p for p, _ in d.quantiles])
    ts = np.array([t for _, t in d.quantiles], dtype=np.float64)
    return np.maximum(np.rint(np.interp(rng.random(n), ps, ts)), 1).astype(np.int64)


_SAMPLERS: dict[str, Callable[[Any, int, np.random.Generator], np.ndarray]] = {
    "fixed": _fixed, "uniform": _uniform, "normal": _normal,
    "lognormal": _lognormal, "empirical": _empirical}


# --------------------------------------------------------------------- arrivals ----
def poisson_arrivals(rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (first at 0) with exponential gaps of mean 1/rate."""
    gaps = rng.exponential(1.0 / rate, size=n)
    gaps[0] = 0.0
    return np.cumsum(gaps)


def gamma_arrivals(rate: float, *, cv: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Arrival times with Gamma gaps: mean 1/rate, coefficient of variation ``cv``
    (shape 1/cv^2, scale cv^2/rate)."""
    shape = 1.0 / cv**2
    gaps = rng.gamma(shape, 1.0 / (rate * shape), size=n)
    gaps[0] = 0.0
    return np.cumsum(gaps)


# ------------------------------------------------------------------------ specs ----
def apply_overrides(spec: ws.ServingWorkloadSpec,
                    overrides: Mapping[str, Any] | None) -> ws.ServingWorkloadSpec:
    """The spec with command-line choices applied: ``rate`` (rescales a trace's own times,
    replaces a Poisson or Gamma rate, turns other arrivals into Poisson), ``concurrency``
    (closed loop), ``max_load``, ``num_requests``, ``seed``. None values are ignored."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None and v is not False}
    unknown = sorted(set(given) - set(_OVERRIDES))
    if unknown:
        raise SpecError(f"unknown workload override; known: {', '.join(_OVERRIDES)}",
                        field=unknown[0])
    picked = [k for k in ("rate", "concurrency", "max_load") if k in given]
    if len(picked) > 1:
        raise SpecError("give at most one of --rate, --concurrency and --max-load",
                        field="--" + picked[1].replace("_", "-"), value=given[picked[1]])
    arrivals = to_data(spec.arrivals)
    if "rate" in given:
        if arrivals["kind"] in {"trace", "poisson", "gamma"}:
            arrivals = {**arrivals, "rate": given["rate"]}
        else:
            arrivals = {"kind": "poisson", "rate": given["rate"]}
    elif "concurrency" in given:
        arrivals = {"kind": "closed_loop", "concurrency": given["concurrency"]}
    elif "max_load" in given:
        arrivals = {"kind": "max_load"}
    update: dict[str, Any] = {k: given[k] for k in ("num_requests", "seed") if k in given}
    checked = validate_data(_Overrides, {"arrivals": arrivals, **update}, file="command line")
    update.update(arrivals=checked.arrivals)
    return spec.model_copy(update=update)


class _Overrides(Spec):
    """The overridable fields, validated like the spec's own."""
    arrivals: ws.Arrivals
    num_requests: PositiveInt | None = None
    seed: Annotated[int, Field(ge=0, strict=True)] = 0


def resolve_trace_path(path: str, base_dir: Path | None) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir or project_root()) / p


def requests_from_spec(spec: ws.ServingWorkloadSpec, *, base_dir: Path | None = None,
                       overrides: Mapping[str, Any] | None = None):
    """The RequestSet of a workload: ``base_dir`` resolves relative trace paths (default:
    the repository root); ``overrides`` as for :func:`apply_overrides`."""
    spec = apply_overrides(spec, overrides)
    seeds = np.random.SeedSequence(spec.seed).spawn(3)
    trace = (read_trace(resolve_trace_path(spec.lengths.path, base_dir))
             if spec.lengths.kind == "trace" else None)
    n = spec.num_requests or (len(trace) if trace is not None else ws.DEFAULT_NUM_REQUESTS)
    if n > MAX_REQUESTS:
        raise SpecError(f"at most {MAX_REQUESTS} requests per run", field="num_requests",
                        value=n)
    prompt, output = _lengths(spec.lengths, trace, n=n, s_in=seeds[0], s_out=seeds[1])
    arrival, concurrency = _arrivals(spec.arrivals, trace, n=n,
                                      rng=np.random.default_rng(seeds[2]))
    requests = _request_set(arrival, prompt, output, concurrency=concurrency)
    if spec.arrivals.kind == "trace" and spec.arrivals.rate is not None:
        if n < 2 or arrival[-1] <= arrival[0]:
            raise SpecError("cannot rescale the trace to a rate: its requests all arrive at "
                            "once", field="arrivals.rate", value=spec.arrivals.rate)
        requests = requests.with_rate(spec.arrivals.rate)
    return requests


def _lengths(lengths: Any, trace: Trace | None, *, n: int, s_in, s_out):
    if lengths.kind == "fixed":
        return (np.full(n, lengths.input_tokens, dtype=np.int64),
                np.full(n, lengths.output_tokens, dtype=np.int64))
    if lengths.kind == "distribution":
        return (sample_lengths(lengths.input, n, np.random.default_rng(s_in)),
                sample_lengths(lengths.output, n, np.random.default_rng(s_out)))
    if trace is None:
        raise SpecError("lengths of kind 'trace' need a trace file", field="lengths")
    idx = np.arange(n) % len(trace)
    return trace.prompt_tokens[idx], trace.output_tokens[idx]


def _arrivals(arrivals: Any, trace: Trace | None, *, n: int, rng: np.random.Generator):
    kind = arrivals.kind
    if kind == "max_load":
        return np.zeros(n), None
    if kind == "closed_loop":
        return np.zeros(n), arrivals.concurrency
    if kind == "poisson":
        return poisson_arrivals(arrivals.rate, n, rng), None
    if kind == "gamma":
        return gamma_arrivals(arrivals.rate, cv=arrivals.cv, n=n, rng=rng), None
    if trace is None or trace.arrival_s is None:
        raise SpecError(f"arrivals of kind 'trace' need an '{TIME_COLUMN}' column; give a "
                        f"rate, a concurrency or max load instead",
                        file=str(trace.path) if trace else None, field=TIME_COLUMN)
    if n > len(trace):
        raise SpecError(f"the trace has {len(trace)} requests; trace arrivals cannot repeat "
                        f"it", field="num_requests", value=n)
    return trace.arrival_s[:n] - trace.arrival_s[0], None


def _request_set(arrival: np.ndarray, prompt: np.ndarray, output: np.ndarray, *,
                 concurrency: int | None):
    from ador.serve.requests import RequestSet

    return RequestSet(arrival_s=np.asarray(arrival, dtype=np.float64),
                      prompt_tokens=np.asarray(prompt, dtype=np.int64),
                      output_tokens=np.asarray(output, dtype=np.int64),
                      concurrency=concurrency)


# ---------------------------------------------------------------- name or path ----
def load_workload(name_or_path: str | Path) -> tuple[ws.ServingWorkloadSpec, Path]:
    """A workload from a YAML path, a name in workloads/serving, or a trace CSV path (its
    own timestamps when it has them, else all at once). Returns the spec and the folder
    that relative trace paths are resolved against."""
    from ador.spec.io import load_serving_workload

    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise SpecError("trace file not found", file=text)
        trace = read_trace(path)
        arrivals: dict = {"kind": "trace"} if trace.arrival_s is not None else {
            "kind": "max_load"}
        spec = validate_data(ws.ServingWorkloadSpec, {
            "name": path.stem, "lengths": {"kind": "trace", "path": str(path.resolve())},
            "arrivals": arrivals}, file=text)
        return spec, path.resolve().parent
    return load_serving_workload(text), project_root()


def describe(spec: ws.ServingWorkloadSpec) -> str:
    """One line: what the workload's lengths and arrivals are."""
    lengths = spec.lengths
    if lengths.kind == "fixed":
        text = f"{lengths.input_tokens}/{lengths.output_tokens} tokens"
    elif lengths.kind == "trace":
        text = f"lengths from {Path(lengths.path).name}"
    else:
        text = f"{lengths.input.kind} prompt, {lengths.output.kind} output lengths"
    a = spec.arrivals
    arrive = {"max_load": "all at once", "closed_loop": f"closed loop of "
              f"{getattr(a, 'concurrency', '')} clients"}.get(a.kind)
    if arrive is None:
        rate = getattr(a, "rate", None)
        arrive = (f"{a.kind} arrivals" + (f" at {rate:g} req/s" if rate else "")
                  + (f", CV {a.cv:g}" if a.kind == "gamma" else ""))
    return f"{text}, {arrive}"

