"""Workload: transformer operators with shapes, FLOPs and bytes, and their dependency graph."""
