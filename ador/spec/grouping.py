"""Settings of the predicted-length batch-grouping policies (UELLM, S3-like, Morphling-like).

These policies form static padded batches from an output-length predictor's classes and
per-request deadlines (``ador.serve.schedulers.grouped``). Defaults are the values of
UELLM's released code (HYIUYOU/UELLM, ``UELM/UELM-all/all.py``, ``UELM/S3/s3.py``,
``dataset/deal.py``) and of the UELLM paper (arXiv 2409.14961, section 5).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ador.spec.base import Spec
from ador.spec.quantities import PositiveInt

# Output-length classes (tokens): class k holds lengths in [edge[k], edge[k+1]); powers of
# two, as S3's length buckets (S3, arXiv 2306.06000) and up to llama2's 4096-token context.
DEFAULT_LENGTH_EDGES = (1, 64, 128, 256, 512, 1024, 2048, 4097)
# UELLM dataset/deal.py: deadlines (s from the start of the closed run) drawn per block of 20
# queries as random.randint over these inclusive ranges, query i in block i // 20.
RELEASED_SLO_RANGES_S = ((220, 250), (180, 220), (150, 180), (100, 120), (90, 100))

Nonneg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class GroupingConfig(Spec):
    """Predictor, deadlines and the three grouping rules' constants."""

    # predictor: probability that the predicted class is the true one (UELLM reports > 80 %
    # for its fine-tuned ChatGLM3-6B profiler); a wrong prediction is another class, chosen
    # uniformly ("uniform") or one class up or down ("adjacent")
    accuracy: Annotated[float, Field(ge=0, le=1)] = 1.0
    error: Literal["uniform", "adjacent"] = "uniform"
    seed: Annotated[int, Field(ge=0)] = 0
    length_edges: tuple[int, ...] = DEFAULT_LENGTH_EDGES
    # a class's predicted length: its upper bound (largest member) or its geometric middle
    representative: Literal["upper", "middle"] = "upper"
    # units the grouping rules see per predicted token: the released rules' lengths (and so
    # their constants 15000 and 1024) are characters of the answer text (dataset/deal.py:
    # len(output)); about 4 characters per token for English text (OpenAI tokenizer
    # guide) makes them comparable; 1 applies the constants to tokens
    length_units_per_token: Pos = 1.0
    # deadlines: the released ranges (seconds), all multiplied by slo_scale (for a machine
    # faster or slower than the paper's); the sort key takes the SLO in units of slo_scale
    # seconds, so a scaled run sorts exactly as the released one
    slo_ranges_s: tuple[tuple[float, float], ...] = RELEASED_SLO_RANGES_S
    slo_block: PositiveInt = 20
    slo_scale: Pos = 1.0
    # SLO-ODBS (all.py): key a x SLO + b x predicted length; add while members < max and
    # (predicted - current max) x (members + 1) x factor <= threshold (the batching-only
    # variant UELM-batch/batch.py uses b = 0.3)
    sort_slo_weight: Nonneg = 1.0
    sort_length_weight: Nonneg = 0.5
    padding_threshold_tokens: Pos = 15000.0
    padding_factor: Pos = 1.2
    uellm_max_batch: PositiveInt = 10
    # S3-like (s3.py): sort by predicted length, pack while summed predicted length <= budget
    # and members <= max
    s3_token_budget: PositiveInt = 1024
    s3_max_batch: PositiveInt = 20
    # Morphling-like: first come first served, fixed batch size (paper's baseline setting)
    morphling_batch: PositiveInt = 10
    # generation cap of a group: its largest predicted output (tokens) + this margin; longer
    # answers end there (truncated). UELLM's released all.py passes max_new_tokens = the
    # group's largest prediction + 50; S3's and Morphling's settings in the paper generate to
    # the end (no cap named in the source), so None (no cap) there
    uellm_truncate_margin_tokens: Annotated[int, Field(ge=0)] | None = 50
    s3_truncate_margin_tokens: Annotated[int, Field(ge=0)] | None = None
    morphling_truncate_margin_tokens: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> GroupingConfig:
        e = self.length_edges
        if len(e) < 3 or any(b <= a for a, b in itertools.pairwise(e)) or e[0] < 1:
            raise ValueError("length_edges must be >= 3 increasing token counts from >= 1")
        if not self.slo_ranges_s or any(lo < 0 or hi < lo for lo, hi in self.slo_ranges_s):
            raise ValueError("slo_ranges_s must be non-empty (low, high) pairs, 0 <= low <= high")
        return self
