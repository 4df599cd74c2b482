"""Paged KV cache arithmetic: blocks of ``block_tokens`` tokens."""

from __future__ import annotations

from dataclasses import dataclass


def blocks_for(tokens: int, block_tokens: int) -> int:
    """Blocks that hold ``tokens`` cached tokens."""
    return -(-int(tokens) // block_tokens)


@dataclass(frozen=True)
class KvPool:
    """The KV blocks of one serving instance.

    ``capacity_blocks`` = floor(capacity tokens / block tokens); ``watermark_blocks`` is the
    share vLLM keeps free when admitting a prefill (so that running requests can grow).
    """

    capacity_tokens: int
    block_tokens: int
    watermark_fraction: float = 0.0

    @property
    def capacity_blocks(self) -> int:
        return self.capacity_tokens // self.block_tokens

    @property
    def watermark_blocks(self) -> int:
        return int(self.watermark_fraction * self.capacity_blocks)

    def blocks(self, tokens: int) -> int:
        return blocks_for(tokens, self.block_tokens)
