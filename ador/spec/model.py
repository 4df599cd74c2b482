"""Decoder-only transformer shapes (LLaMA family: RMSNorm, RoPE, GQA, SwiGLU)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ador.spec.base import Spec
from ador.spec.quantities import PositiveInt


@dataclass(frozen=True)
class Sharded:
    """Sizes on one chip and the parameters it holds."""

    heads: int
    kv_heads: int
    head_dim: int
    hidden: int
    ffn: int
    vocab: int
    layers: int
    tied: bool

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def layer_params(self) -> int:
        """One decoder layer: QKV, O, gate/up/down projections and two norms."""
        h = self.hidden
        return h * (self.q_dim + 2 * self.kv_dim) + self.q_dim * h + 3 * h * self.ffn + 2 * h

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def lm_head_params(self) -> int:
        """The lm_head's own parameters: none when it is tied to the embedding table."""
        return 0 if self.tied else self.vocab * self.hidden

    @property
    def params(self) -> int:
        """Parameters on the chip: its layers, embedding, lm_head and final norm."""
        return (self.layers * self.layer_params + self.embedding_params + self.lm_head_params
                + self.hidden)


class ModelSpec(Spec):
    name: Annotated[str, Field(min_length=1)]
    source: str = ""
    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    ffn_hidden: PositiveInt
    vocab: PositiveInt
    max_context: PositiveInt = 8192
    tied_embeddings: bool = False
    norm: Literal["rmsnorm"] = "rmsnorm"
    activation: Literal["swiglu"] = "swiglu"
    positional: Literal["rope"] = "rope"

    @model_validator(mode="after")
    def _gqa_groups(self) -> ModelSpec:
        if self.heads % self.kv_heads:
            raise ValueError(
                f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        return self

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def sharded(self, *, tp: int = 1, pp: int = 1) -> Sharded:
        """Per-chip sizes and parameter counts under Megatron tensor parallelism (heads,
        FFN and vocabulary split; KV heads replicated when fewer than chips) and ``pp``
        pipeline stages: the one source of parameter counts and weight bytes."""
        return Sharded(heads=self.heads // tp, kv_heads=max(1, self.kv_heads // tp),
                       head_dim=self.head_dim, hidden=self.hidden,
                       ffn=math.ceil(self.ffn_hidden / tp), vocab=math.ceil(self.vocab / tp),
                       layers=math.ceil(self.layers / pp), tied=self.tied_embeddings)

    @property
    def params_per_layer(self) -> int:
        return self.sharded().layer_params

    @property
    def embedding_params(self) -> int:
        return self.sharded().embedding_params

    @property
    def lm_head_params(self) -> int:
        return self.sharded().lm_head_params

    @property
    def params(self) -> int:
        """Total parameter count (llama3-8b: 8.03e9); a tied lm_head is the embedding."""
        return self.sharded().params

    def kv_bytes_per_token(self, element_bytes: float) -> float:
        """KV-cache bytes per token over all layers (llama3-8b FP16: 128 KiB)."""
        return 2 * self.layers * self.kv_dim * element_bytes
