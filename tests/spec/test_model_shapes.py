"""Parameter counts and KV sizes of the shipped model shapes, computed by hand from the configs."""

from __future__ import annotations

import pytest

from ador.spec.io import load_model


def _hand_params(*, layers: int, hidden: int, heads: int, kv_heads: int, head_dim: int,
                 ffn: int, vocab: int) -> int:
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2  # q, o; k, v
    mlp = 3 * hidden * ffn  # gate, up, down (SwiGLU)
    norms = 2 * hidden
    return layers * (attention + mlp + norms) + 2 * vocab * hidden + hidden  # embed, head, norm


@pytest.mark.parametrize(("name", "shape", "billions"), [
    ("llama3-405b", dict(layers=126, hidden=16384, heads=128, kv_heads=8, head_dim=128,
                         ffn=53248, vocab=128256), 405.85),
    ("llama2-13b", dict(layers=40, hidden=5120, heads=40, kv_heads=40, head_dim=128,
                        ffn=13824, vocab=32000), 13.02),
])
def test_parameter_count_matches_the_hand_count(name, shape, billions):
    model = load_model(name)
    expected = _hand_params(**shape)
    assert model.params == expected
    assert model.params / 1e9 == pytest.approx(billions, abs=0.01)


def test_llama3_405b_kv_bytes_per_token():
    # 126 layers x 2 (K and V) x 8 KV heads x 128 dims x 2 bytes (fp16)
    assert load_model("llama3-405b").kv_bytes_per_token(2) == 516_096
    assert load_model("llama3-405b").kv_bytes_per_token(1) == 258_048  # fp8 KV
