"""Loading of measured operator data (per-layer kernel times, attention, NCCL all-reduce).

The files live in the shared validation folder (``../shared/validation/operators`` beside
the repository, or ``$ADOR_SHARED``); see its README for where they were measured. All
times are converted to seconds; sizes to bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.spec.io import project_root

# Vidur op name -> ador operator name (one decoder layer; see ador.workload.transformer).
MLP_OPS = {
    "attn_pre_proj": "qkv_proj",
    "attn_post_proj": "o_proj",
    "mlp_up_proj": "gate_up_proj",
    "mlp_down_proj": "down_proj",
    "mlp_act": "swiglu",
    "input_layernorm": "input_norm",
    "attn_rope": "rope",
    "add": "residual_add_attn",
    "emb": "embedding",
}
OP_TYPE = {
    "qkv_proj": "gemm", "o_proj": "gemm", "gate_up_proj": "gemm", "down_proj": "gemm",
    "swiglu": "elementwise", "input_norm": "norm", "rope": "elementwise",
    "residual_add_attn": "elementwise", "embedding": "embedding",
}
MODEL_DIRS = {
    "Meta-Llama-3-8B": "llama3-8b", "Meta-Llama-3-70B": "llama3-70b",
    "Llama-2-7b-hf": "llama2-7b", "Llama-2-70b-hf": "llama2-70b",
}
GPU_DIRS = {"a100": "a100-sxm-80gb", "h100": "h100-sxm-80gb"}
NETWORK_DIRS = {"a100-sxm-80gb": "a100_dgx", "h100-sxm-80gb": "h100_dgx",
                "h200-sxm-141gb": "h100_dgx"}


def shared_dir() -> Path:
    env = os.environ.get("ADOR_SHARED")
    return Path(env) if env else project_root().parent / "shared"


def operators_dir(root: Path | None = None) -> Path:
    path = (root or shared_dir()) / "validation" / "operators"
    if not path.is_dir():
        raise AdorError("operator measurements not found (expected the shared validation "
                        "folder beside the repository, or set ADOR_SHARED)", file=str(path))
    return path


def load_mlp(root: Path | None = None) -> pd.DataFrame:
    """Per-layer kernel medians: columns hardware, model, tp, tokens, op, op_type, measured_s."""
    frames = []
    for gpu_dir in sorted((operators_dir(root) / "compute").iterdir()):
        for model_dir in sorted((gpu_dir / "meta-llama").iterdir()):
            path = model_dir / "mlp.csv"
            if not path.exists() or model_dir.name not in MODEL_DIRS:
                continue
            raw = pd.read_csv(path)
            for vidur, op in MLP_OPS.items():
                frames.append(pd.DataFrame({
                    "hardware": GPU_DIRS[gpu_dir.name],
                    "model": MODEL_DIRS[model_dir.name],
                    "tp": raw["num_tensor_parallel_workers"].astype(int),
                    "tokens": raw["num_tokens"].astype(int),
                    "op": op,
                    "op_type": OP_TYPE[op],
                    "measured_s": raw[f"time_stats.{vidur}.median"] * 1e-3,
                }))
    return pd.concat(frames, ignore_index=True)


def load_attention(root: Path | None = None) -> pd.DataFrame:
    """FlashInfer attention medians (llama3-8b on A100): prefill and decode rows."""
    path = (operators_dir(root) / "compute" / "a100" / "meta-llama" / "Meta-Llama-3-8B"
            / "attention_extracted_medians.csv")
    raw = pd.read_csv(path)
    prefill = raw["is_prefill"].astype(str) == "True"
    measured = np.where(prefill, raw["attn_prefill_median_ms"], raw["attn_decode_median_ms"])
    return pd.DataFrame({
        "hardware": "a100-sxm-80gb", "model": "llama3-8b",
        "tp": raw["tp"].astype(int),
        "prefill": prefill,
        "batch": raw["batch_size"].astype(int),
        "chunk": raw["prefill_chunk_size"].astype(int),
        "context": raw["kv_cache_size"].astype(int),
        "op_type": np.where(prefill, "attention_prefill", "attention_decode"),
        "measured_s": measured * 1e-3,
    })


def load_allreduce(network: str, root: Path | None = None) -> pd.DataFrame:
    """NCCL all-reduce medians: columns chips, size_bytes, measured_s (CUDA-graph timed)."""
    raw = pd.read_csv(operators_dir(root) / "network" / network / "all_reduce.csv")
    raw = raw[raw["rank"] == 0]
    frame = pd.DataFrame({
        "chips": raw["num_workers"].astype(int),
        "size_bytes": raw["size"].astype(float) * 2.0,  # fp16 elements
        "measured_s": raw["time_stats.all_reduce.median"] * 1e-3,
        "devices_per_node": raw["devices_per_node"].astype(int),
    })
    # one node: every chip on the same NVSwitch
    return frame[frame["devices_per_node"] == frame["chips"]].reset_index(drop=True)


def load_ceilings(root: Path | None = None) -> pd.DataFrame:
    return pd.read_csv(operators_dir(root) / "kernel_ceilings.csv")
