"""Malformed, hostile or oversized spec files: one line naming the file, exit 2, quickly."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from ador.errors import SpecError
from ador.spec.io import MAX_FILE_BYTES, load_model, read_yaml
from tests.conftest import WORKLOADS

LLAMA = (WORKLOADS / "models" / "llama3-8b.yaml").read_text()

BOMB = "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join(
    [f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB


def refused(path: Path) -> str:
    """The one-line message a file gets, checked for time and memory."""
    start = time.process_time()
    with pytest.raises(SpecError) as info:
        load_model(path)
    assert time.process_time() - start < 1.0
    tracemalloc.start()
    try:
        with pytest.raises(SpecError):
            load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    message = info.value.message()
    assert "\n" not in message and len(message) <= 500, message
    assert message.startswith(str(path)), message
    return message


def write(tmp_path: Path, text: str | bytes, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_duplicate_key_names_both_lines(tmp_path):
    lines = LLAMA.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("layers:"))
    text = "\n".join(lines[:at + 1] + ["layers: 1"] + lines[at + 1:]) + "\n"
    message = refused(write(tmp_path, text))
    assert f"duplicate key 'layers' at lines {at + 1} and {at + 2}" in message


def test_duplicate_key_in_a_flow_mapping(tmp_path):
    path = write(tmp_path, "a: {x: 1, x: 2}\n")
    with pytest.raises(SpecError, match="duplicate key 'x'"):
        read_yaml(path)


def test_non_utf8_bytes(tmp_path):
    message = refused(write(tmp_path, LLAMA.encode() + b"source: caf\xe9\n"))
    assert "not UTF-8" in message and "0xe9" in message


@pytest.mark.parametrize("text, fragment", [
    ("name: !!int abc\n", "tags are not allowed"),
    ("name: !!python/object:os.system ls\n", "tags are not allowed"),
    ("name: !custom x\n", "tags are not allowed"),
])
def test_yaml_tags_are_refused(tmp_path, text, fragment):
    assert fragment in refused(write(tmp_path, text + LLAMA.split("\n", 1)[1]))


def test_dates_stay_text(tmp_path):
    data = read_yaml(write(tmp_path, "name: 2024-01-02\nwhen: 2024-13-45\n"))
    assert data == {"name": "2024-01-02", "when": "2024-13-45"}
    model = load_model(write(tmp_path, LLAMA.replace("name: llama3-8b", "name: 2024-01-02"),
                             "d.yaml"))
    assert model.name == "2024-01-02"


def test_alias_bomb_is_refused_quickly(tmp_path):
    path = write(tmp_path, BOMB)
    assert len(BOMB) < 700
    assert "aliases are expanded" in refused(path)


def test_recursive_alias(tmp_path):
    assert "refers to the node that contains it" in refused(write(tmp_path, "a: &a [*a]\n"))


def test_modest_aliases_still_work(tmp_path):
    data = read_yaml(write(tmp_path, "a: &x {b: 1}\nc: *x\n"))
    assert data == {"a": {"b": 1}, "c": {"b": 1}}


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200))])
def test_deep_nesting(tmp_path, text):
    assert "levels deep" in refused(write(tmp_path, text))


def test_huge_list_is_not_echoed(tmp_path):
    text = LLAMA.replace("layers: 32", "layers: [" + ", ".join(["1"] * 9000) + "]")
    message = refused(write(tmp_path, text))
    assert "field 'layers'" in message and "9000 items" in message


def test_huge_key_is_not_echoed(tmp_path):
    message = refused(write(tmp_path, LLAMA + "? " + "k" * 200_000 + "\n: 1\n"))
    assert "unknown key" in message


def test_huge_string_is_not_echoed(tmp_path):
    message = refused(write(tmp_path, LLAMA.replace("layers: 32", "layers: " + "9x" * 200_000)))
    assert "field 'layers'" in message and "400000 characters" in message


def test_too_many_values(tmp_path):
    text = LLAMA + "extra: [" + ", ".join(["1"] * 12000) + "]\n"
    assert "values" in refused(write(tmp_path, text))


@pytest.mark.parametrize("digits", [20, 401])
def test_integers_too_large_for_a_float(tmp_path, digits):
    text = LLAMA.replace("layers: 32", "layers: 1" + "0" * digits)
    assert "integer too large" in refused(write(tmp_path, text))


def test_non_regular_files_are_refused():
    for path in (Path("/dev/zero"), Path("/dev/null")):
        if not path.exists():
            pytest.skip(f"{path} is absent here")
        with pytest.raises(SpecError, match="not a regular file"):
            load_model(path)


def test_folder_is_refused(tmp_path):
    with pytest.raises(SpecError, match="not a regular file"):
        load_model(tmp_path)


def test_oversized_file(tmp_path):
    path = write(tmp_path, LLAMA + "#" * (MAX_FILE_BYTES + 10) + "\n")
    assert "too large" in refused(path)


def test_control_characters(tmp_path):
    assert "malformed YAML" in refused(write(tmp_path, LLAMA + "x: \x00\n"))


def test_cli_dev_zero_is_one_line(cli):
    r = cli("evaluate", "/dev/zero")
    assert r.code == 2
    assert r.stderr.count("\n") == 1 and "not a regular file" in r.stderr
