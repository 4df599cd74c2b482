"""Workload: transformer operators with shapes, FLOPs and bytes, and their dependency graph."""

from ador.workload.graph import OpGraph, build_graph, critical_path
from ador.workload.operators import MatMul, OpClass, Operator, Stage
from ador.workload.transformer import Shard, decode_contexts, decode_ops, prefill_ops, shard

__all__ = ["MatMul", "OpClass", "OpGraph", "Operator", "Shard", "Stage", "build_graph",
           "critical_path", "decode_contexts", "decode_ops", "prefill_ops", "shard"]
