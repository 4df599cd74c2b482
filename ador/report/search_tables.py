"""Rich tables of a search: the Pareto designs beside the baseline GPUs, and the ratios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ador.metrics import METRICS, RATIOS, TABLE, Metric
from ador.units import format_quantity

# metric column -> (header, unit for format_quantity or a format string)
COLUMNS = tuple((m.column, m.header, m.symbol or m.fmt) for m in TABLE)
RATIO_HEADERS = {m.ratio: m.short if m.higher_is_better else f"{m.short} (base/design)"
                 for m in RATIOS if m.ratio}


def fmt(value, how: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if how.startswith("{"):
        return how.format(int(value) if how == "{:d}" else float(value))
    return format_quantity(float(value), how, digits=3).replace(" ms", "ms")


def spread(n: int, top: int) -> list[int]:
    """At most ``top`` row positions spread evenly over ``n`` rows (ends included)."""
    if n <= top:
        return list(range(n))
    return sorted({round(x) for x in np.linspace(0, n - 1, top)})


def table_width(widths: list[int]) -> int:
    """Characters a rich table of columns of these content widths takes (one space of
    padding each side inside, ``pad_edge=False``, a border between and around columns)."""
    return sum(widths) + 3 * len(widths) - 1


def fit(widths: list[int], priority: list[int], width: int | None) -> list[int]:
    """Indices of the columns to show, in their order: column 0 always, then by
    ``priority`` (most important first) as long as the table fits ``width``."""
    if width is None:
        return list(range(len(widths)))
    chosen = {0}
    for i in priority:
        if i != 0 and table_width([widths[j] for j in sorted(chosen | {i})]) <= width:
            chosen.add(i)
    return sorted(chosen)


def pareto_table(pareto: pd.DataFrame, baselines: pd.DataFrame, *, title: str,
                 top: int = 12, hide: frozenset[str] = frozenset(),
                 first: tuple[str, ...] = (), width: int | None = None) -> Table:
    """The Pareto designs (at most ``top``, spread along the front) and the baselines.

    With ``width`` the columns that fit are shown, those named in ``first`` (metric
    columns: objectives, limits) before the others; the caption names any left out."""
    cols = [c for c in COLUMNS if (c[0] in pareto.columns or c[0] in baselines.columns)
            and c[0] not in hide]
    rows = pareto.iloc[spread(len(pareto), top)] if len(pareto) else pareto
    body = [[str(r["id"]), *[fmt(r.get(c), how) for c, _, how in cols]]
            for _, r in rows.iterrows()]
    base = [[baseline_label(b), *[fmt(b.get(c), how) for c, _, how in cols]]
            for _, b in baselines.iterrows()]
    heads = ["design", *[h for _, h, _ in cols]]
    widths = [max(len(x) for x in col) for col in zip(heads, *body, *base, strict=True)]
    order = [1 + i for i, c in enumerate(cols) if c[0] in first]
    order += [i for i in range(1, len(heads)) if i not in order]
    shown = fit(widths, order, width)
    t = Table(title=title, title_justify="left", pad_edge=False)
    for i in shown:
        t.add_column(heads[i], justify="left" if i == 0 else "right", no_wrap=True)
    for cells in body:
        t.add_row(*[cells[i] for i in shown])
    captions = []
    if len(pareto) > len(rows):
        captions.append(f"{len(rows)} of {len(pareto)} Pareto designs shown; all in pareto.csv")
    left = [heads[i] for i in range(len(heads)) if i not in shown]
    if left:
        captions.append(f"not shown at this width: {', '.join(left)} (--wide shows all)")
    for b, cells in zip(baselines.itertuples(), base, strict=True):
        style = "cyan" if bool(getattr(b, "usable", 1)) else "dim"
        t.add_row(*[Text(cells[i], style=style) if i == 0 else cells[i] for i in shown])
    captions += baseline_notes(baselines)
    if captions:
        t.caption = "\n".join(captions)
        t.caption_justify = "left"
    return t


def _usable(b) -> bool:
    return bool(b.get("usable", 1))


def _over(b) -> str:
    over = b.get("over_budget", "")
    return over if isinstance(over, str) else ""


def baseline_label(b) -> str:
    """A baseline's row label: ``h200*`` when it breaks a budget, ``a100!`` when it has no
    usable deployment (both explained by :func:`baseline_notes`)."""
    return f"{b['baseline']}{'' if _usable(b) else '!'}{'*' if _over(b) else ''}"


def baseline_notes(baselines: pd.DataFrame) -> list[str]:
    """One line per marked baseline: why it is left out of the ratios, or which budget it
    breaks."""
    notes = []
    for _, b in baselines.iterrows():
        if not _usable(b):
            notes.append(f"{b['baseline']}!: not compared, {b.get('reason')}")
        elif _over(b):
            notes.append(f"{b['baseline']}*: breaks the budget, {_over(b)} (tp {b.get('tp')})")
    return notes


def ratio_title(baselines: pd.DataFrame) -> str:
    """What the ratio table compares against: the usable baselines, and the others left out."""
    used = [baseline_label(b) for _, b in baselines.iterrows() if _usable(b)]
    out = [f"{b['baseline']} ({b.get('reason')})" for _, b in baselines.iterrows()
           if not _usable(b)]
    text = ("best ratio of any Pareto design against each baseline (> 1: the design is "
            f"better); included: {', '.join(used) or 'none'}")
    if any(_over(b) for _, b in baselines.iterrows() if _usable(b)):
        text += " (* breaks a budget)"
    if out:
        text += f"; left out: {'; '.join(out)}"
    return text


def knob_tables(pareto: pd.DataFrame, *, knobs: list[str], top: int = 12,
                units: dict[str, str | None] | None = None,
                width: int | None = None) -> list[Table]:
    """The knob values of the designs ``pareto_table`` shows (knobs that differ among them;
    the others are listed in the title), split into tables that fit ``width``."""
    rows = pareto.iloc[spread(len(pareto), top)] if len(pareto) else pareto
    same = [k for k in knobs if k in rows and len(rows) and rows[k].nunique() == 1]
    knobs = [k for k in knobs if k not in same]
    fixed = ", ".join(f"{k}={_short(rows[k].iloc[0], (units or {}).get(k))}" for k in same)
    ids = [str(r["id"]) for _, r in rows.iterrows()]
    cells = {k: [_short(r[k], (units or {}).get(k)) for _, r in rows.iterrows()]
             for k in knobs}
    widths = {k: max([len(k), *map(len, v)]) for k, v in cells.items()}
    id_width = max([len("design"), *map(len, ids)])
    groups: list[list[str]] = [[]]
    for k in knobs:
        trial = [id_width, *(widths[j] for j in groups[-1]), widths[k]]
        if groups[-1] and width is not None and table_width(trial) > width:
            groups.append([])
        groups[-1].append(k)
    tables = []
    for n, group in enumerate(groups):
        title = "knobs of those designs" + (f" (all: {fixed})" if fixed and n == 0 else "")
        t = Table(title=title if n == 0 else None, title_justify="left", pad_edge=False)
        t.add_column("design", no_wrap=True)
        for k in group:
            t.add_column(k, justify="right", no_wrap=True)
        for i, did in enumerate(ids):
            t.add_row(did, *[cells[k][i] for k in group])
        tables.append(t)
    return tables


def ratio_table(comparison: pd.DataFrame, pareto: pd.DataFrame, *, title: str,
                labels: dict[str, str] | None = None) -> Table:
    """For each baseline: the best ratio any Pareto design reaches, and which design."""
    t = Table(title=title, title_justify="left", pad_edge=False)
    t.add_column("vs")
    ratio_cols = [c for c in RATIO_HEADERS if c in comparison.columns]
    for c in ratio_cols:
        t.add_column(RATIO_HEADERS[c], justify="right")
    if comparison.empty:
        return t
    for base, group in comparison.groupby("baseline", sort=False):
        cells = []
        for c in ratio_cols:
            j = group[c].idxmax()
            cells.append(f"{group.at[j, c]:.2f}x ({group.at[j, 'id']})")
        t.add_row((labels or {}).get(str(base), str(base)), *cells)
    return t


SYMBOL = {"bytes": "B", "bytes_per_s": "B/s", "hz": "Hz", "s": "s", "w": "W"}


def _short(v, unit: str | None) -> str:
    if unit and isinstance(v, (int, float)):
        return format_quantity(float(v), SYMBOL[unit], binary=unit == "bytes",
                               digits=3).replace(" ", "")
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _used(m: Metric, spec) -> bool:
    """The problem optimises or limits the metric."""
    if m.name in spec.objectives:
        return True
    if m.limit is None:
        return False
    section, key = m.limit.split(".")
    return getattr(getattr(spec, section), key) is not None


def budget_text(budgets) -> str:
    """Per-chip budgets in human units: 'area <= 814 mm², HBM bandwidth <= 3.35 TB/s'."""
    parts = []
    for m in METRICS:
        section, _, key = (m.limit or "").partition(".")
        value = getattr(budgets, key, None) if section == "budgets" else None
        if value is not None:
            shown = (format_quantity(float(value), m.symbol, digits=4) if m.symbol
                     else f"{m.text(value)} {m.unit}")
            parts.append(f"{m.title.removesuffix(' per chip')} <= {shown}")
    return ", ".join(parts) if parts else "no budget"


def search_view(result, *, top: int = 12, width: int | None = None) -> Group:
    """The Pareto table against the baselines and the best ratios, for ``ador explore``;
    with ``width`` (a terminal's columns) every table fits it, else all columns show."""
    s = result.summary
    # with a tp knob each design (and baseline) has its own tp: the table's tp column
    searched = result.problem.space.tp_knob is not None
    sc = "; ".join(f"{x['model']} b{x['batch']} in{x['input_len']} out{x['output_len']} "
                   f"{'tp searched' if searched else 'tp' + str(x['tp'])} {x['precision']}"
                   for x in s["scenarios"])
    spec = result.problem.spec
    slo = ", ".join(f"{k.removesuffix('_s')} <= {format_quantity(v, 's')}"
                    for k, v in spec.slo.model_dump().items() if v is not None)
    head = (f"{s['pareto']} Pareto designs of {s['feasible']} feasible / {s['evaluations']} "
            f"evaluated ({s['backend']} {s['algorithm']}, seed {s['seed']}, "
            f"{s['elapsed_s']:.1f} s) - {sc}; {slo or 'no SLO'}; "
            f"{budget_text(spec.budgets)}")
    units = {d.knob.name: d.knob.unit for d in result.problem.space.domains}
    # some columns only when the problem is about them
    hide = frozenset(m.column for m in TABLE if m.table_if_used and not _used(m, spec))
    first = tuple(m.column for m in METRICS if _used(m, spec))
    return Group(
        pareto_table(result.pareto, result.baselines, title=head, top=top, hide=hide,
                     first=first, width=width),
        *knob_tables(result.pareto, knobs=result.problem.space.names, top=top, units=units,
                     width=width),
        ratio_table(result.comparison, result.pareto, title=ratio_title(result.baselines),
                    labels={str(b["baseline"]): baseline_label(b)
                            for _, b in result.baselines.iterrows()}),
        Text(f"run folder: {result.folder}"),
    )
