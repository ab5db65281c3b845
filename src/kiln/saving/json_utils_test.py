import json

import pytest

from kiln.errors import FileFormatError
from kiln.saving.json_utils import METADATA_MAX_BYTES, _max_depth, load_untrusted_json


def test_parses_config_like_json():
    doc = {"module": "keras.layers", "config": {"units": 3, "shape": [None, 4]}, "x": 1.5}
    assert load_untrusted_json(json.dumps(doc).encode(), "config.json") == doc


def test_tolerates_utf8_bom_and_non_ascii():
    data = "\ufeff".encode() + json.dumps({"name": "dénse_ü"}, ensure_ascii=False).encode()
    assert load_untrusted_json(data, "config.json") == {"name": "dénse_ü"}


def test_depth_ignores_brackets_inside_strings():
    data = json.dumps({"a": "[[[[[[{{{{" * 100, "b": ["\\\"[[[", [1]]}).encode()
    assert _max_depth(data) == 3
    assert load_untrusted_json(data, "config.json", max_depth=3)["b"][1] == [1]


def test_depth_limit_boundary():
    ok = b"[" * 200 + b"]" * 200
    assert _max_depth(ok) == 200
    load_untrusted_json(ok, "config.json")
    with pytest.raises(FileFormatError, match=r"config.json nests lists/objects 201 levels"):
        load_untrusted_json(b"[" * 201 + b"]" * 201, "config.json")


def test_very_deep_nesting_is_refused_without_recursion_error():
    data = b'{"a":' * 500_000 + b"1" + b"}" * 500_000
    with pytest.raises(FileFormatError, match="500000 levels deep"):
        load_untrusted_json(data, "config.json in m.keras")


def test_size_limit_names_the_part():
    data = b'{"a": "' + b"x" * METADATA_MAX_BYTES + b'"}'
    with pytest.raises(FileFormatError, match=r"metadata.json is \d+ bytes, more than the 1048576"):
        load_untrusted_json(data, "metadata.json", max_bytes=METADATA_MAX_BYTES)


def test_invalid_utf8_and_invalid_json():
    with pytest.raises(FileFormatError, match="config.json is not valid UTF-8"):
        load_untrusted_json(b'{"a": "\xff\xfe"}', "config.json")
    with pytest.raises(FileFormatError, match="config.json is not valid JSON"):
        load_untrusted_json(b'{"a": ', "config.json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_untrusted_json(b"[" + b"9" * 10_000 + b"]", "config.json")  # int digit limit
    with pytest.raises(TypeError, match="expects bytes"):
        load_untrusted_json("{}", "config.json")


def test_large_config_parses():
    layer = {"class_name": "Dense", "config": {"name": "d" * 40, "units": 3, "shape": [None, 4]}}
    data = json.dumps({"layers": [layer] * 30_000}).encode()  # ~3.6 MB
    assert _max_depth(data) == 5
    assert len(load_untrusted_json(data, "config.json")["layers"]) == 30_000


def _reference_depth(value):
    if isinstance(value, dict):
        return 1 + max([_reference_depth(v) for v in value.values()] + [0])
    if isinstance(value, list):
        return 1 + max([_reference_depth(v) for v in value] + [0])
    return 0


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_depth_scan_matches_recursive_reference_across_chunk_borders(monkeypatch, chunk):
    import random

    from kiln.saving import json_utils

    monkeypatch.setattr(json_utils, "_CHUNK", chunk)
    rnd = random.Random(chunk)
    leaves = ["a\\\\", '\\"[', "{]}\\", 1, None, '\\\\\\"', "\\" * 5 + '"]', "x"]

    def make(level):
        roll = rnd.random()
        if level > 5 or roll < 0.3:
            return rnd.choice(leaves)
        if roll < 0.65:
            return [make(level + 1) for _ in range(rnd.randint(0, 3))]
        return {rnd.choice(["k[", '"}', "\\"]) + str(i): make(level + 1) for i in range(rnd.randint(0, 3))}

    for _ in range(80 if chunk > 1 else 30):
        value = make(0)
        data = json.dumps(value, indent=rnd.choice([None, 1])).encode()
        assert _max_depth(data) == _reference_depth(value), data
