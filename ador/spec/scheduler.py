"""Serving scheduler settings: which batching policy runs and with which limits.

``memory_fraction`` is the share of the HBM left after the weights and the activation
reserve that the KV cache may use on each chip: KV bytes per chip =
memory_fraction x (HBM per chip - weights per chip - activation reserve per chip). vLLM's
``gpu_memory_utilization`` (default 0.9) caps the whole process instead; TensorRT-LLM's
``kv_cache_free_gpu_mem_fraction`` (default 0.9, 0.95 in trtllm-bench) is the same rule
as here. None takes the scheduler's default (0.95 for trtllm, as trtllm-bench; 0.9 else).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ador.spec.base import Spec
from ador.spec.quantities import BytesPerS, Fraction, PositiveInt

SCHEDULER_NAMES = ("static", "vllm", "sarathi", "trtllm")
DEFAULT_MEMORY_FRACTION = {"static": 0.9, "vllm": 0.9, "sarathi": 0.9, "trtllm": 0.95}


class SchedulerConfig(Spec):
    """Batching policy and its limits (None: the policy's default, see each field)."""

    name: Literal["static", "vllm", "sarathi", "trtllm"] = "vllm"
    # running requests at once (vLLM max_num_seqs default 256; static: the batch size)
    max_num_seqs: PositiveInt = 256
    # tokens per iteration: vLLM (None: max(model context, 2048), vLLM's default without
    # chunked prefill) and static (None: 32768 padded prompt tokens per batch); Sarathi
    # uses chunk_tokens, TensorRT-LLM max_num_tokens
    max_batched_tokens: PositiveInt | None = None
    # Sarathi-Serve token budget per iteration (decodes included); 512 strict, 2048 relaxed
    chunk_tokens: PositiveInt = 512
    # vLLM admits a prefill only while this share of the KV blocks stays free (0.01)
    watermark_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.01
    preemption: Literal["recompute", "swap"] = "recompute"
    # host link for swap preemption: PCIe 4.0 x16 is 32 GB/s per direction raw, about
    # 25 GB/s achieved by pinned copies (NVIDIA bandwidthTest on A100 hosts)
    swap_bandwidth_bytes_per_s: BytesPerS = 25e9
    memory_fraction: Fraction | None = None
    block_tokens: PositiveInt = 16
    # TensorRT-LLM engine limits; None = derived from KV capacity as trtllm-bench does
    max_batch_size: PositiveInt | None = None
    max_num_tokens: PositiveInt | None = None

    @property
    def kv_memory_fraction(self) -> float:
        if self.memory_fraction is not None:
            return self.memory_fraction
        return DEFAULT_MEMORY_FRACTION[self.name]
