"""Static padded batches grouped by predicted output length: UELLM's SLO-ODBS, S3-like and
Morphling-like grouping.

When the instance is idle, the policy forms groups over the waiting requests with its rule
and runs the first group as one static batch (every member padded to the group's longest
prompt and longest true output; all members complete when the batch ends, as an HF
transformers ``generate`` call returns). The next group is formed again over what is then
waiting: for a closed workload present at time 0 this gives exactly the released one-shot
grouping (each rule restarts a group from the next request in its order). A group larger
than the KV cache or the padded-prompt token cap runs as its largest prefix that fits.

Rules (``group`` functions, pure, on predicted lengths and SLOs; UELLM's released code,
HYIUYOU/UELLM ``UELM/UELM-all/all.py`` and ``UELM/S3/s3.py``):

- ``uellm``: sort by ``a x SLO + b x predicted``; add while the group has fewer than
  ``uellm_max_batch`` members and ``(predicted - current max) x (members + 1) x factor <=
  threshold``; the current max starts at the first request's prediction;
- ``s3``: sort by predicted length; add while members < ``s3_max_batch`` and the summed
  predictions stay <= ``s3_token_budget`` (a request alone above the budget forms its own
  group; the released code also emits an empty group there, which has no effect);
- ``morphling``: first come first served, ``morphling_batch`` per group.

Truncation: the released ``all.py`` caps a group's generation (``max_new_tokens``) at its
largest predicted length + 50 tokens, so a member whose true answer is longer ends there.
``GroupingConfig.<rule>_truncate_margin_tokens`` sets the margin per rule (None: no cap;
uellm 50 as released, s3 and morphling off); the cap is in tokens (predicted class length
in tokens + margin). A truncated request delivers the capped count of tokens; the run's
``limits`` count ``truncated_requests`` and ``truncated_tokens`` (tokens not generated).

Predictions (``ador.serve.predictor``, in ``length_units_per_token`` units) use the true
output lengths the engine holds and the config's seed; deadlines are
``predictor.deadlines_s`` by request index. Both are computed on the first plan of a run, so
with several instances each instance's share has its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ador.serve.predictor import deadlines_s, predict_lengths, rule_lengths
from ador.serve.schedulers.base import EngineState, Plan
from ador.serve.schedulers.static import StaticScheduler
from ador.spec.grouping import GroupingConfig


def uellm_groups(pred: Sequence[float], slo: Sequence[float], cfg: GroupingConfig
                 ) -> list[list[int]]:
    """SLO-ODBS groups (indices into ``pred``) in execution order, as released."""
    n = len(pred)
    if n == 0:
        return []
    key = [cfg.sort_slo_weight * slo[i] / cfg.slo_scale + cfg.sort_length_weight * pred[i]
           for i in range(n)]
    order = sorted(range(n), key=lambda i: key[i])  # stable, as Python's sorted

    def fits(group: list[int], i: int) -> bool:
        """Within the batch cap, and the padding the newcomer adds within the bound."""
        top = max((pred[j] for j in group), default=pred[i])
        return len(group) < cfg.uellm_max_batch and (
            (pred[i] - top) * (len(group) + 1) * cfg.padding_factor
            <= cfg.padding_threshold_tokens)

    return _pack(order, fits)


def s3_groups(pred: Sequence[float], slo: Sequence[float], cfg: GroupingConfig
              ) -> list[list[int]]:
    """S3-like groups: by predicted length, summed predictions within the token budget."""
    order = sorted(range(len(pred)), key=lambda i: pred[i])
    return _pack(order, lambda group, i: len(group) < cfg.s3_max_batch and (
        pred[i] + sum(pred[j] for j in group) <= cfg.s3_token_budget))


def _pack(order: list[int], fits: Callable[[list[int], int], bool]) -> list[list[int]]:
    """Greedy groups in ``order``: an index joins the current group while ``fits(group,
    index)``, else it starts the next group (empty groups dropped)."""
    groups: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if fits(cur, i):
            cur.append(i)
        else:
            groups.append(cur)
            cur = [i]
    groups.append(cur)
    return [g for g in groups if g]


def morphling_groups(pred: Sequence[float], slo: Sequence[float], cfg: GroupingConfig
                     ) -> list[list[int]]:
    """Morphling-like groups: arrival order, fixed size."""
    b = cfg.morphling_batch
    return [list(range(k, min(k + b, len(pred)))) for k in range(0, len(pred), b)]


class GroupedScheduler(StaticScheduler):
    """Static batches whose members a grouping rule picks from the waiting queue."""

    name = "grouped"
    margin_field = ""  # GroupingConfig field of the rule's truncation margin

    @staticmethod
    def group(pred, slo, cfg: GroupingConfig) -> list[list[int]]:  # pragma: no cover
        raise NotImplementedError

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pred: list | None = None
        self.pred_tokens: list | None = None
        self.slo: list | None = None
        self.margin: int | None = getattr(self.config.grouping, self.margin_field, None)
        self.truncates = self.margin is not None
        self.batches: list[list[int]] = []  # request ids of each batch run, in order

    def _setup(self, st: EngineState) -> tuple[list, list]:
        """Predicted lengths and deadlines, computed on the first plan of a run."""
        if self.pred is None or self.slo is None:
            cfg = self.config.grouping
            self.pred = rule_lengths(np.asarray(st.output), cfg).tolist()
            self.pred_tokens = predict_lengths(np.asarray(st.output), cfg).tolist()
            self.slo = deadlines_s(len(st.output), cfg).tolist()
        return self.pred, self.slo

    def plan(self, st: EngineState) -> Plan:
        plan = Plan()
        if st.n_decode or st.prefilling:
            plan.decode = st.n_decode > 0
            return plan
        if not st.waiting:
            return plan
        pred, slo = self._setup(st)
        ids = list(st.waiting)
        first = self.group([pred[i] for i in ids], [slo[i] for i in ids],
                           self.config.grouping)[0]
        members = self._fitting([ids[k] for k in first], st)
        chosen = set(members)
        rest = [i for i in ids if i not in chosen]
        st.waiting.clear()
        st.waiting.extend(members + rest)
        p_max = max(st.prompt[i] for i in members)
        o_max = self.generation_cap(members, st)
        for i in members:
            st.real_output[i] = min(st.real_output[i], o_max)
            st.set_lengths(i, prompt=p_max, output=o_max)
            st.admit(i, tokens=p_max, blocks=self.kv.blocks(p_max + o_max), reserve=True)
            plan.chunks.append((i, p_max))
        self.batches.append(members)
        return plan

    def generation_cap(self, members: list[int], st: EngineState) -> int:
        """Steps the group's batch generates: its longest true output, or less under the
        rule's cap (largest predicted length in tokens + margin, at least 1)."""
        o_max = max(st.output[i] for i in members)
        if self.margin is None or self.pred_tokens is None:
            return o_max
        cap = max(self.pred_tokens[i] for i in members) + self.margin
        return max(1, min(o_max, cap))

    def _fitting(self, members: list[int], st: EngineState) -> list[int]:
        """The longest prefix of ``members`` whose padded batch fits the KV cache and the
        padded-prompt token cap (at least one request: a lone request always fits, see
        ``reject_reason``)."""
        p = o = 0
        for k, i in enumerate(members):
            p, o = max(p, st.prompt[i]), max(o, st.output[i])
            if k and ((k + 1) * self.kv.blocks(p + o) > self.kv.capacity_blocks
                      or p * (k + 1) > self.max_tokens):
                return members[:k]
        return members


class UellmScheduler(GroupedScheduler):
    name = "uellm"
    margin_field = "uellm_truncate_margin_tokens"
    group = staticmethod(uellm_groups)


class S3Scheduler(GroupedScheduler):
    name = "s3"
    margin_field = "s3_truncate_margin_tokens"
    group = staticmethod(s3_groups)


class MorphlingScheduler(GroupedScheduler):
    name = "morphling"
    margin_field = "morphling_truncate_margin_tokens"
    group = staticmethod(morphling_groups)
