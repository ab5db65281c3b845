"""A model using every convolution, pooling and reshaping layer survives `.keras` files
in both directions: Keras-written into kiln, kiln-written into Keras, same predictions."""

import os

import numpy as np

import kiln
from kiln.layers.convolutional._oracle_testlib import keras, to_numpy


def _build(ns):
    inputs = ns.Input((12, 12, 3))
    x = ns.layers.Conv2D(4, 3, padding="same", strides=2, activation="relu")(inputs)
    x = ns.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(x)
    x = ns.layers.SeparableConv2D(5, 2, padding="same")(x)
    x = ns.layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    x = ns.layers.ZeroPadding2D(1)(x)
    x = ns.layers.AveragePooling2D(2, strides=1, padding="same")(x)
    x = ns.layers.MaxPooling2D(2)(x)
    x = ns.layers.UpSampling2D(2, interpolation="bilinear")(x)
    pooled = ns.layers.GlobalAveragePooling2D()(x)
    x = ns.layers.GlobalMaxPooling2D(keepdims=True)(x)
    x = ns.layers.Flatten()(ns.layers.Conv2D(6, 1, data_format="channels_first")(x))
    x = ns.layers.Reshape((-1, 3))(x)
    x = ns.layers.Conv1D(2, 3, padding="causal")(x)
    x = ns.layers.AveragePooling1D(1)(ns.layers.MaxPooling1D(1)(x))
    x = ns.layers.GlobalAveragePooling1D()(ns.layers.GlobalMaxPooling1D(keepdims=True)(x))
    x = ns.layers.Permute((2, 1))(ns.layers.RepeatVector(2)(x))
    return ns.Model(inputs, [x, pooled])


def _assert_same_predictions(a, b, x):
    for want, got in zip(a(x), b(x)):
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), atol=1e-5)


def test_keras_file_loads_into_kiln_and_kiln_file_into_keras(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 12, 12, 3)).astype("float32")
    theirs = _build(keras)
    theirs.save(os.path.join(tmp_path, "keras.keras"))
    ours = kiln.saving.load_model(os.path.join(tmp_path, "keras.keras"))
    _assert_same_predictions(theirs, ours, x)

    ours = _build(kiln)
    ours.save(os.path.join(tmp_path, "kiln.keras"))
    theirs = keras.saving.load_model(os.path.join(tmp_path, "kiln.keras"))
    _assert_same_predictions(ours, theirs, x)
