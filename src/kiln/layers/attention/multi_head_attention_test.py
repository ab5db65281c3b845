import os
import tempfile

import numpy as np
import pytest

import kiln
from kiln import layers
from kiln.layers import _oracle_testlib as oracle


def _pair(query_shape, value_shape, key_shape=None, **kwargs):
    keras = oracle.keras()
    kwargs.setdefault("num_heads", 2)
    kwargs.setdefault("key_dim", 3)
    ours = layers.MultiHeadAttention(name="mha", **kwargs)
    theirs = keras.layers.MultiHeadAttention(name="mha", **kwargs)
    oracle.assert_same_config(ours, theirs)
    ours.build(query_shape, value_shape, key_shape)
    theirs.build(query_shape, value_shape, key_shape)
    oracle.assert_same_weights_layout(ours, theirs)
    rng = np.random.default_rng(5)
    theirs.set_weights([rng.uniform(-0.5, 0.5, tuple(w.shape)).astype("float32")
                        for w in theirs.weights])
    oracle.copy_weights(ours, theirs)
    return ours, theirs


def test_guide_example():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    query, value = oracle.random((3, 8, 16)), oracle.random((3, 4, 16), seed=1)
    y = layer(query, value)
    assert tuple(y.shape) == (3, 8, 16)
    assert len(layer.weights) == 8
    assert [v.shape for v in layer.weights[:2]] == [(16, 2, 2), (2, 2)]
    assert layer.get_build_config() == {
        "shapes_dict": {"query_shape": (3, 8, 16), "value_shape": (3, 4, 16)}}


def test_build_config_matches_keras_with_key_and_mask_on_first_call():
    keras = oracle.keras()
    q, v, k = oracle.random((2, 5, 4)), oracle.random((2, 6, 4), 1), oracle.random((2, 6, 3), 2)
    mask = np.ones((2, 5, 6), bool)
    ours = layers.MultiHeadAttention(2, 3)
    theirs = keras.layers.MultiHeadAttention(2, 3)
    ours(q, v, key=k, attention_mask=mask)
    theirs(q, v, key=k, attention_mask=mask)
    assert ours.get_build_config() == theirs.get_build_config()


def _masks(t, s):
    rng = np.random.default_rng(6)
    attention = rng.uniform(size=(2, t, s)) > 0.3
    attention[0, 1] = False  # a query position that may attend to nothing
    return attention


@pytest.mark.parametrize("variant", ["plain", "attention_mask", "causal", "causal+mask", "key",
                                     "value_mask", "scores", "scores+mask"])
def test_matches_keras(variant):
    q, v, k = oracle.random((2, 5, 4)), oracle.random((2, 6, 4), 1), oracle.random((2, 6, 7), 2)
    ours, theirs = _pair(q.shape, v.shape, k.shape if variant == "key" else None)
    kwargs = {}
    if "mask" in variant and variant != "value_mask":
        kwargs["attention_mask"] = _masks(5, 6)
    if variant.startswith("causal"):
        kwargs["use_causal_mask"] = True
    if variant == "key":
        kwargs["key"] = k
    if variant == "value_mask":
        kwargs["value_mask"] = np.array([[1, 1, 1, 1, 0, 0], [1] * 6], bool)
    if variant.startswith("scores"):
        kwargs["return_attention_scores"] = True
    oracle.assert_close(ours(q, v, **kwargs), theirs(q, v, **kwargs))


@pytest.mark.parametrize("kwargs,shapes", [
    ({"value_dim": 5, "output_shape": 6, "use_bias": False}, ((2, 4, 3), (2, 5, 3))),
    ({"attention_axes": (1, 2)}, ((2, 3, 4, 5), (2, 3, 4, 5))),
    ({"use_gate": True, "sliding_window": 2}, ((2, 6, 4), (2, 6, 4))),
    ({"dropout": 0.5, "seed": 3}, ((2, 4, 3), (2, 5, 3))),
])
def test_variants_match_keras(kwargs, shapes):
    ours, theirs = _pair(*shapes, **kwargs)
    q, v = oracle.random(shapes[0]), oracle.random(shapes[1], 1)
    oracle.assert_close(ours(q, v), theirs(q, v))
    if len(shapes[0]) == 3:  # a causal mask is defined for one attention axis only
        oracle.assert_close(ours(q, v, use_causal_mask=True),
                            theirs(q, v, use_causal_mask=True))
    if kwargs.get("dropout"):  # the same seeded dropout masks as Keras
        oracle.assert_close(ours(q, v, training=True), theirs(q, v, training=True))


def test_symbolic_shapes():
    q, v = kiln.Input((8, 16)), kiln.Input((4, 16))
    out, scores = layers.MultiHeadAttention(2, 2)(q, v, return_attention_scores=True)
    assert out.shape == (None, 8, 16) and scores.shape == (None, 2, 8, 4)
    assert layers.MultiHeadAttention(2, 2, output_shape=5)(q, v).shape == (None, 8, 5)


def test_functional_model_save_load_round_trip():
    q, v = kiln.Input((5, 4)), kiln.Input((6, 4))
    model = kiln.Model([q, v], layers.MultiHeadAttention(2, 3)(q, v, use_causal_mask=True))
    data = [oracle.random((2, 5, 4)), oracle.random((2, 6, 4), 1)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mha.keras")
        model.save(path)
        loaded = kiln.saving.load_model(path)
    oracle.assert_close(loaded(data), model(data), atol=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="key_dim"):
        layers.MultiHeadAttention(2, None)
    with pytest.raises(ValueError, match="value` and `key`"):
        layers.MultiHeadAttention(2, 2).build((2, 3, 4), (2, 5, 4), (2, 6, 4))
    with pytest.raises(ValueError, match="flash attention"):
        layers.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True)


def _transformer_block(lib):
    """The same model built with `keras` or `kiln` (their APIs are the same)."""
    q, v, ids = lib.Input((5, 8)), lib.Input((6, 8)), lib.Input((5,), dtype="int32")
    x = lib.layers.Add()([q, lib.layers.Embedding(10, 8)(ids)])
    a = lib.layers.MultiHeadAttention(2, 4, dropout=0.1, use_gate=True)(
        x, v, use_causal_mask=True)
    a = lib.layers.LayerNormalization()(lib.layers.Dropout(0.2)(a))
    a = lib.layers.BatchNormalization()(a)
    a = lib.layers.Concatenate()([a, q])
    a = lib.layers.PReLU()(lib.layers.ReLU(max_value=3.0)(lib.layers.Rescaling(0.5, 1.0)(a)))
    a = lib.layers.EinsumDense("abc,cd->abd", (5, 3), bias_axes="d", activation="tanh")(a)
    a = lib.layers.Softmax()(lib.layers.LeakyReLU()(a))
    return lib.Model([q, v, ids], [a, lib.layers.Dot(axes=(1, 1))([a, q])])


@pytest.mark.parametrize("writer", ["keras", "kiln"])
def test_keras_files_cross_both_ways(writer):
    keras = oracle.keras()
    libs = {"keras": keras, "kiln": kiln}
    reader = "kiln" if writer == "keras" else "keras"
    data = [oracle.random((2, 5, 8)), oracle.random((2, 6, 8), 1),
            np.random.default_rng(2).integers(0, 10, (2, 5)).astype("int32")]
    model = _transformer_block(libs[writer])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "block.keras")
        model.save(path)
        loaded = libs[reader].saving.load_model(path)
    oracle.assert_close(loaded(data), model(data))
