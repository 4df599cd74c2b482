"""The allocator tuning leaves a user's own malloc settings alone and changes no result."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _tuned(env: dict[str, str]) -> str:
    code = "from ador.model.heap import keep_freed_memory as k; print(k(), k())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True, timeout=60).stdout.split()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"])
def test_a_users_malloc_setting_is_kept(name):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _tuned({**env, name: "131072"}) == ["False", "False"]


def test_tuning_is_done_once_and_answers_the_same():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    first, second = _tuned(env)
    assert first == second and first in {"True", "False"}
    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libc.so.6"):
        assert first == "True"
