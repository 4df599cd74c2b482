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

import itertools
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ador.workload.operators import Operator


@dataclass(frozen=True)
class OpGraph:
    graph: nx.DiGraph
    order: tuple[str, ...]
    preds: dict[str, tuple[str, ...]]


def build_graph(ops: list[Operator]) -> OpGraph:
    """Chain the operators in execution order and add the residual skip edges."""
    g = nx.DiGraph()
    names = [op.name for op in ops]
    if len(set(names)) != len(names):
        raise ValueError("operator names must be unique within a pass")
    for op in ops:
        g.add_node(op.name, op_class=op.op_class.value, repeat=op.repeat)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b, kind="data")
    for op in ops:
        if op.residual_from is not None and op.residual_from in g:
            g.add_edge(op.residual_from, op.name, kind="residual")
    order = tuple(nx.topological_sort(g))
    return OpGraph(graph=g, order=order,
                   preds={v: tuple(g.predecessors(v)) for v in order})


def critical_path(graph: OpGraph, times: dict[str, np.ndarray]) -> np.ndarray:
    """Longest path through the graph for each design (times broadcast together)."""
    finish: dict[str, np.ndarray] = {}
    for v in graph.order:
        start = 0.0
        for u in graph.preds[v]:
            start = np.maximum(start, finish[u])
        finish[v] = start + times[v]
    ends = [finish[v] for v in graph.order if graph.graph.out_degree(v) == 0]
    total = ends[0]
    for e in ends[1:]:
        total = np.maximum(total, e)
    return total
