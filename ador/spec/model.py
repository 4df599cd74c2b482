"""Decoder-only transformer shapes (LLaMA family: RMSNorm, RoPE, GQA, SwiGLU)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ador.spec.base import Spec
from ador.spec.quantities import PositiveInt


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

    @property
    def params_per_layer(self) -> int:
        attn = self.hidden * (self.q_dim + 2 * self.kv_dim) + self.q_dim * self.hidden
        ffn = 3 * self.hidden * self.ffn_hidden
        norms = 2 * self.hidden
        return attn + ffn + norms

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def lm_head_params(self) -> int:
        return 0 if self.tied_embeddings else self.vocab * self.hidden

    @property
    def params(self) -> int:
        """Total parameter count (llama3-8b: 8.03e9)."""
        return (self.layers * self.params_per_layer + self.embedding_params
                + self.lm_head_params + self.hidden)

    def kv_bytes_per_token(self, element_bytes: float) -> float:
        """KV-cache bytes per token over all layers (llama3-8b FP16: 128 KiB)."""
        return 2 * self.layers * self.kv_dim * element_bytes
