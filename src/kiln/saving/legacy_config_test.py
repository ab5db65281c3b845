"""Keras 2 layer entries converted to Keras 3 terms (keras-format.md §5.2)."""

from kiln.saving.legacy_config import convert_layer_entry


def test_batch_input_shape_becomes_batch_shape_or_input_shape():
    entry = convert_layer_entry({"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 4], "name": "input_1"}})
    assert entry["config"] == {"batch_shape": [None, 4], "name": "input_1"}
    entry = convert_layer_entry({"class_name": "Dense", "config": {
        "batch_input_shape": [None, 6], "units": 2}})
    assert entry["config"] == {"input_shape": [6], "units": 2}


def test_single_axis_list_and_policy_dtype():
    entry = convert_layer_entry({"class_name": "BatchNormalization", "config": {
        "axis": [1], "dtype": {"class_name": "Policy", "config": {"name": "mixed_float16"}},
        "__passive_serialization__": True}})
    assert entry["config"] == {"axis": 1, "dtype": "mixed_float16"}
    kept = {"axis": [1, 2], "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                      "config": {"name": "float32"}}}
    assert convert_layer_entry({"class_name": "LayerNormalization", "config": kept})["config"] \
        == kept


def test_lambda_list_form_becomes_lambda_envelope_without_decoding():
    entry = convert_layer_entry({"class_name": "Lambda", "config": {
        "name": "lam", "function": ["Y29kZQ==\n", None, None], "function_type": "lambda",
        "module": "__main__", "output_shape": ["b3V0\n", [1], None],
        "output_shape_type": "lambda", "output_shape_module": None, "arguments": {}}})
    assert entry["config"] == {
        "name": "lam", "arguments": {},
        "function": {"class_name": "__lambda__",
                     "config": {"code": "Y29kZQ==\n", "defaults": None, "closure": None}},
        "output_shape": {"class_name": "__lambda__",
                         "config": {"code": "b3V0\n", "defaults": [1], "closure": None}}}


def test_lambda_named_function_and_raw_output_shape_are_kept():
    entry = convert_layer_entry({"class_name": "Lambda", "config": {
        "function": "my_fn", "function_type": "function", "module": "mymod",
        "output_shape": [3], "output_shape_type": "raw", "arguments": {}}})
    assert entry["config"] == {"function": "my_fn", "output_shape": [3], "arguments": {}}


def test_conversion_is_idempotent():
    entry = {"class_name": "Lambda", "config": {"function": ["Y29kZQ==", None, None],
                                                "axis": [2], "batch_input_shape": [None, 3]}}
    once = convert_layer_entry(entry)
    assert convert_layer_entry(once) == once
