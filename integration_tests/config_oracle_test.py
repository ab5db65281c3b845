"""Model configs cross between Keras 3 and kiln unchanged: Keras config → kiln model →
config equals the Keras config (up to `shared_object_id`, a per-process object id), and
Keras rebuilds kiln's config as the same architecture."""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import kiln  # noqa: E402


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def seq(K):
    return K.Sequential([K.Input((4,)), K.layers.Dense(3, activation="relu"),
                         K.layers.Dropout(0.5), K.layers.Dense(2)], name="seq")


def multi_input(K):
    a, b = K.Input((4,), name="a"), K.Input((2,), name="b")
    x = K.layers.Concatenate()([K.layers.Dense(3)(a), b])
    return K.Model({"a": a, "b": b}, [K.layers.Dense(1, name="o1")(x),
                                      K.layers.Dense(2, name="o2")(x)], name="multi")


def shared_and_nested(K):
    inner_in = K.Input((4,))
    inner = K.Model(inner_in, K.layers.Dense(4)(inner_in), name="inner")
    x = K.Input((4,), name="x")
    shared = K.layers.Dense(4, name="shared")
    y = K.layers.Add()([shared(x), shared(inner(x))])
    return K.Model(x, K.layers.BatchNormalization()(y), name="shared_nested")


def nested_sequential(K):
    block = K.Sequential([K.layers.Dense(5), K.layers.LayerNormalization()], name="block")
    x = K.Input((3, 4))
    return K.Model(x, K.layers.GlobalAveragePooling1D()(block(x)), name="nested_seq")


def conv(K):
    x = K.Input((8, 8, 3))
    y = K.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    y = K.layers.MaxPooling2D()(y)
    return K.Model(x, K.layers.Flatten()(y), name="conv")


def ops_graph(K):
    x = K.Input((4,))
    y = K.layers.Dense(4)(x)
    return K.Model(x, -(y[:, :2] * 2.0 + x[:, 2:]), name="ops")


def every_layer(K):
    i = K.Input((8, 8, 3)); L = K.layers
    a = L.Conv2D(4, 3, padding="same")(i); a = L.BatchNormalization()(a); a = L.ReLU()(a); a = L.MaxPooling2D()(a)
    a = L.AveragePooling2D(1)(a); a = L.DepthwiseConv2D(3, padding="same")(a); a = L.SeparableConv2D(4, 3, padding="same")(a)
    a = L.Conv2DTranspose(4, 3, padding="same")(a); a = L.ZeroPadding2D()(a); a = L.UpSampling2D()(a); a = L.GlobalMaxPooling2D()(a)
    b = L.GlobalAveragePooling2D()(i)
    c = L.Concatenate()([a, b]); c = L.Dense(6)(c); c = L.Activation("tanh")(c); c = L.LeakyReLU()(c); c = L.Softmax()(c)
    c = L.Dropout(0.2)(c); c = L.Rescaling(0.5)(c); c = L.Identity()(c); r = L.Reshape((3, 2))(c); r = L.Permute((2, 1))(r)
    r = L.Flatten()(r); r = L.RepeatVector(3)(r); r = L.Conv1D(2, 2)(r); r = L.MaxPooling1D(1)(r); r = L.AveragePooling1D(1)(r); r = L.LayerNormalization()(r)
    r2 = L.MultiHeadAttention(2, 2)(r, r); r = L.Add()([r, r2]); r = L.Subtract()([r, r2]); r = L.Multiply()([r, r2]); r = L.Average()([r, r2]); r = L.Maximum()([r, r2])
    g = L.GlobalAveragePooling1D()(r); g2 = L.GlobalMaxPooling1D()(r); d = L.Dot(axes=1)([g, g2])
    e_in = K.Input((3,), dtype="int32"); e = L.Embedding(10, 2)(e_in); e = L.Flatten()(e)
    return K.Model([i, e_in], [d, e])


ZOO = [seq, multi_input, shared_and_nested, nested_sequential, conv, ops_graph, every_layer]


@pytest.mark.parametrize("builder", ZOO, ids=lambda b: b.__name__)
def test_keras_config_round_trips_through_kiln(builder):
    k_model = builder(keras)
    k_config = json.loads(json.dumps(keras.saving.serialize_keras_object(k_model)))
    kiln_model = kiln.saving.deserialize_keras_object(k_config)
    ours = json.loads(json.dumps(kiln.saving.serialize_keras_object(kiln_model)))
    assert _strip(ours) == _strip(k_config)


@pytest.mark.parametrize("builder", ZOO, ids=lambda b: b.__name__)
def test_kiln_config_rebuilds_in_keras_with_same_weights_layout(builder):
    kiln_model = builder(kiln)
    config = json.loads(json.dumps(kiln.saving.serialize_keras_object(kiln_model)))
    k_model = keras.saving.deserialize_keras_object(config)
    assert [w.shape for w in k_model.weights] == [tuple(w.shape) for w in kiln_model.weights]
    k_model.set_weights([w.numpy() for w in kiln_model.weights])
    inputs = [np.random.default_rng(0).random((2,) + tuple(t.shape[1:]), dtype="float32")
              for t in kiln_model.inputs]
    if isinstance(kiln_model.input, dict):
        inputs = dict(zip(kiln_model.input.keys(), inputs))
    elif len(inputs) == 1:
        inputs = inputs[0]
    ours, theirs = kiln_model(inputs), k_model(inputs)
    for a, b in zip(ours if isinstance(ours, list) else [ours],
                    theirs if isinstance(theirs, list) else [theirs]):
        np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), atol=1e-5)


def test_to_json_model_from_json_and_clone_model():
    model = multi_input(kiln)
    rebuilt = kiln.models.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    for build in (seq, multi_input, nested_sequential):
        original = build(kiln)
        clone = kiln.models.clone_model(original)
        assert clone is not original
        assert [w.shape for w in clone.weights] == [w.shape for w in original.weights]
        assert all(a.value is not b.value for a, b in zip(clone.weights, original.weights))
        assert _strip(clone.get_config())["layers"][0]["class_name"] == \
            _strip(original.get_config())["layers"][0]["class_name"]


def test_clone_model_with_clone_function_and_input_tensors():
    model = seq(kiln)

    def clone_fn(layer):
        config = layer.get_config()
        if isinstance(layer, kiln.layers.Dropout):
            config["rate"] = 0.1
        return layer.__class__.from_config(config)

    clone = kiln.models.clone_model(model, clone_function=clone_fn)
    assert clone.layers[1].rate == 0.1
    functional = multi_input(kiln)
    new_inputs = {"a": kiln.Input((4,), name="a2"), "b": kiln.Input((2,), name="b2")}
    cloned = kiln.models.clone_model(functional, input_tensors=new_inputs)
    assert [t.name for t in cloned.inputs] == ["a2", "b2"]
