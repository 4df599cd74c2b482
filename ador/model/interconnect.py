"""Collectives and point-to-point transfers over P2P links, vectorized over designs.

All-reduce of S bytes on p chips, each with L links of bandwidth b per direction and
per-hop latency a (alpha-beta model):
- ring topology: bidirectional ring all-reduce (reduce-scatter then all-gather), two
  counter-rotating rings using all L links: 2 (p - 1) / p * S / (L b) + 2 (p - 1) a;
- switch (NVSwitch-like): the same ring algorithm through the switch, each step one hop
  through the switch: same bandwidth term, 2 (p - 1) a latency;
- fully connected: one-shot reduce-scatter / all-gather over direct links, the L links
  divided among p - 1 peers: 2 (p - 1) / p * S / (L b) + 2 a.
Calibration adds a software latency per collective and scales the bandwidth.
"""

from __future__ import annotations

import numpy as np

from ador.model.compute import col
from ador.model.design import DesignArrays


def allreduce_time(*, d: DesignArrays, size_bytes, p: int) -> np.ndarray:
    if p <= 1:
        return np.zeros_like(col(d.clock_hz)) + 0.0 * np.asarray(size_bytes, dtype=np.float64)
    links, bw, alpha = col(d.p2p_links), col(d.p2p_bw), col(d.p2p_latency_s)
    topo = col(d.topology)
    link_bw = np.maximum(links, 1) * bw * col(d.allreduce_bw_eff)
    transfer = 2.0 * (p - 1) / p * np.asarray(size_bytes, dtype=np.float64) / link_bw
    hops = np.where(topo == 1, 2.0, 2.0 * (p - 1))
    seconds = transfer + hops * alpha + col(d.allreduce_latency_s)
    return np.where(links > 0, seconds, np.inf)


def p2p_send_time(*, d: DesignArrays, size_bytes) -> np.ndarray:
    """One chip sends ``size_bytes`` to its pipeline neighbour over half its links."""
    links, bw = col(d.p2p_links), col(d.p2p_bw)
    seconds = np.asarray(size_bytes, dtype=np.float64) / (np.maximum(links / 2.0, 1.0) * bw)
    return np.where(links > 0, seconds + col(d.p2p_latency_s), np.inf)
