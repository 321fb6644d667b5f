"""bnn_edge.jsontext: JSON from user files; syntax, duplicate keys, depth and size refused with a message."""

from __future__ import annotations

import pytest

from bnn_edge import jsontext
from bnn_edge.jsontext import JSONTextError


def test_parses_what_json_parses():
    text = '{"a": [1, 2.5, "x", null, true], "b": {"c": []}}'
    assert jsontext.parse(text) == {"a": [1, 2.5, "x", None, True], "b": {"c": []}}
    assert jsontext.parse(text.encode()) == jsontext.parse(text)


@pytest.mark.parametrize("value, d", [(1, 0), ("s", 0), ([], 1), ([1], 1), ({"a": [1]}, 2), ([[[]], {}], 3),
                                      ({"a": 1, "b": {"c": {"d": []}}}, 4)])
def test_depth_counts_containers(value, d):
    assert jsontext.depth(value) == d


def test_depth_of_a_very_deep_value_needs_no_recursion():
    v: list = []
    for _ in range(100_000):
        v = [v]
    assert jsontext.depth(v) == 100_001


@pytest.mark.parametrize("text, words", [
    ("{", "line 1, column 2"),
    ('{"k": 1, "k": 2}', "duplicate key 'k'"),
    ('[{"a": {"k": 1, "k": 1}}]', "duplicate key 'k'"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 65 + "]" * 65, "nested 65 levels deep (at most 64)"),
    (b"\xff\xfe\xfd", "not UTF-8"),
])
def test_refused_with_a_message(text, words):
    with pytest.raises(JSONTextError, match=words.replace("(", r"\(").replace(")", r"\)")):
        jsontext.parse(text)


def test_max_depth_is_inclusive():
    assert jsontext.depth(jsontext.parse("[" * 64 + "]" * 64)) == 64
    with pytest.raises(JSONTextError):
        jsontext.parse("[[[]]]", max_depth=2)


def test_read_checks_the_size_first(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    assert jsontext.read(path) == {"a": 1}
    with pytest.raises(JSONTextError, match="8 bytes, more than the 7"):
        jsontext.read(path, max_bytes=7)
    with pytest.raises(FileNotFoundError):
        jsontext.read(tmp_path / "missing.json")
