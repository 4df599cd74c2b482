"""Dependency graph of a decoder layer and its critical path, vectorized over designs.

The graph is built once per operator list with networkx (operators are nodes, data
dependencies are edges, including the residual skips from a layer's input to its residual
adds). Node times are numpy arrays over designs; the critical path is evaluated in
topological order as finish(v) = t(v) + max over predecessors of finish(u).
Assumption: operators on one chip run one at a time unless the graph allows otherwise;
in a LLaMA layer every operator depends on the previous one, so the critical path equals
the sum, and the graph is where overlap (e.g. chunked compute/communication) is expressed.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ador.workload.operators import Operator


@dataclass(frozen=True)
class OpGraph:
    graph: nx.DiGraph
    order: tuple[str, ...]
    preds: dict[str, tuple[str, ...]]
    # predecessors not implied by a longer path (the transitive reduction): with
    # non-negative times, the finish of an implied predecessor never sets the maximum
    direct: dict[str, tuple[str, ...]]
    sinks: tuple[str, ...]


def build_graph(ops: list[Operator]) -> OpGraph:
    """Chain the operators in execution order and add the residual skip edges.

    Graphs are built once per operator structure (names, classes, repeats, skips) and
    shared: treat the returned graph as read-only."""
    names = [op.name for op in ops]
    if len(set(names)) != len(names):
        raise ValueError("operator names must be unique within a pass")
    return _build(tuple((op.name, op.op_class.value, op.repeat, op.residual_from)
                        for op in ops))


@functools.lru_cache(maxsize=256)
def _build(nodes: tuple[tuple[str, str, int, str | None], ...]) -> OpGraph:
    g = nx.DiGraph()
    for name, op_class, repeat, _ in nodes:
        g.add_node(name, op_class=op_class, repeat=repeat)
    for a, b in itertools.pairwise(name for name, *_ in nodes):
        g.add_edge(a, b, kind="data")
    for name, _, _, residual_from in nodes:
        if residual_from is not None and residual_from in g:
            g.add_edge(residual_from, name, kind="residual")
    order = tuple(nx.topological_sort(g))
    reduced = nx.transitive_reduction(g)
    return OpGraph(graph=g, order=order,
                   preds={v: tuple(g.predecessors(v)) for v in order},
                   direct={v: tuple(reduced.predecessors(v)) for v in order},
                   sinks=tuple(v for v in order if g.out_degree(v) == 0))


def critical_path(graph: OpGraph, times: dict[str, np.ndarray]) -> np.ndarray:
    """Longest path through the graph for each design (times, non-negative seconds,
    broadcast together). Only direct predecessors are visited: a chain of operators is
    summed in order, with no maximum over the skip edges it already covers."""
    # Summed transposed ((contexts, designs) for (designs, contexts) times): the same
    # elementwise sums, with long contiguous inner loops over designs.
    # A finish time read by one successor only is extended in place (same sums, no copy).
    readers = Counter(u for v in graph.order for u in graph.direct[v])
    finish: dict[str, np.ndarray] = {}
    for v in graph.order:
        preds = graph.direct[v]
        t = np.transpose(times[v])
        if np.ndim(t) == 2 and t.shape[0] > 1:
            t = np.ascontiguousarray(t)  # else sums inherit its designs-first layout
        if len(preds) == 1:
            prev = finish[preds[0]]
            if (readers[preds[0]] == 1 and preds[0] not in graph.sinks
                    and np.broadcast_shapes(prev.shape, np.shape(t)) == prev.shape):
                finish[v] = np.add(prev, t, out=prev)
            else:
                finish[v] = prev + t
            continue
        start = 0.0
        for u in preds:
            start = np.maximum(start, finish[u])
        finish[v] = start + t
    total = finish[graph.sinks[0]]
    for e in graph.sinks[1:]:
        total = np.maximum(total, finish[e])
    return np.transpose(total)
