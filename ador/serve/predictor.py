"""Output-length predictor with an accuracy knob, and the deadlines of a closed workload.

UELLM's resource profiler (a fine-tuned ChatGLM3-6B) predicts each query's output-length
class. ador replaces it by a noisy oracle: with probability ``accuracy`` the true class,
otherwise another class (uniformly among the others, or one class up or down). Classes are
``length_edges`` intervals [edge[k], edge[k+1]) in tokens; a class's predicted length is its
upper bound (largest member, edge[k+1] - 1) or its geometric middle. Deterministic per seed.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ador.spec.grouping import GroupingConfig


def length_class(tokens, edges) -> np.ndarray:
    """Class index of each length (lengths beyond the last edge fall in the last class)."""
    e = np.asarray(edges, dtype=np.int64)
    k = np.searchsorted(e, np.asarray(tokens, dtype=np.int64), side="right") - 1
    return np.clip(k, 0, e.shape[0] - 2)


def class_lengths(edges, representative: str = "upper") -> np.ndarray:
    """Predicted length (tokens) of each class."""
    e = np.asarray(edges, dtype=np.float64)
    if representative == "upper":
        return (e[1:] - 1).astype(np.int64)
    return np.array([round(math.sqrt(a * (b - 1))) for a, b in itertools.pairwise(e)], np.int64)


def predict_classes(true_tokens, *, accuracy: float, seed: int, edges,
                    error: str = "uniform") -> np.ndarray:
    """Predicted class per request: the true one with probability ``accuracy``."""
    true = length_class(true_tokens, edges)
    k = len(edges) - 1
    rng = np.random.default_rng(seed)
    wrong = rng.random(true.shape[0]) >= accuracy
    if error == "uniform":
        # uniform over the k - 1 other classes: shift by 1..k-1 modulo k
        shift = rng.integers(1, k, true.shape[0])
        other = (true + shift) % k
    else:
        step = np.where(rng.random(true.shape[0]) < 0.5, -1, 1)
        other = true + step
        other = np.where((other < 0) | (other >= k), true - step, other)
    return np.where(wrong, other, true)


def predict_lengths(true_tokens, cfg: GroupingConfig) -> np.ndarray:
    """Predicted output tokens of each request under ``cfg``'s predictor (integers)."""
    cls = predict_classes(true_tokens, accuracy=cfg.accuracy, seed=cfg.seed,
                          edges=cfg.length_edges, error=cfg.error)
    return class_lengths(cfg.length_edges, cfg.representative)[cls]


def deadlines_s(n: int, cfg: GroupingConfig) -> np.ndarray:
    """Deadline (seconds from the start) of each of ``n`` requests: request i's block
    ``i // slo_block`` (the last range repeats) draws an integer second uniformly in its
    inclusive range, as UELLM's released data set does, times ``slo_scale``."""
    rng = np.random.default_rng(cfg.seed + 1)
    r = cfg.slo_ranges_s
    block = np.minimum(np.arange(n) // cfg.slo_block, len(r) - 1)
    lo = np.array([r[b][0] for b in block], dtype=np.float64)
    hi = np.array([r[b][1] for b in block], dtype=np.float64)
    draw = np.floor(lo + rng.random(n) * (np.floor(hi) - np.ceil(lo) + 1))
    draw = np.where(np.floor(hi) >= np.ceil(lo), np.maximum(draw, np.ceil(lo)), lo)
    return draw * cfg.slo_scale


def violations(finish_s, deadline_s) -> int:
    """Requests that completed after their deadline (not completed counts as violated)."""
    f = np.asarray(finish_s, dtype=np.float64)
    return int(np.sum(~(f <= np.asarray(deadline_s, dtype=np.float64))))


def rule_lengths(true_tokens, cfg: GroupingConfig) -> np.ndarray:
    """Predicted lengths in the units the grouping rules use (``length_units_per_token``)."""
    return predict_lengths(true_tokens, cfg) * cfg.length_units_per_token
