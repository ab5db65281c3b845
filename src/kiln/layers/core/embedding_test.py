import numpy as np
import pytest
import torch

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def _pair(**kwargs):
    keras = oracle.keras()
    ours = layers.Embedding(10, 4, name="emb", **kwargs)
    theirs = keras.layers.Embedding(10, 4, name="emb", **kwargs)
    ours.build()
    theirs.build()
    oracle.copy_weights(ours, theirs)
    return ours, theirs


def test_matches_keras_config_weights_and_outputs():
    ours, theirs = _pair(mask_zero=True)
    oracle.assert_same_config(ours, theirs)
    oracle.assert_same_weights_layout(ours, theirs)
    ids = np.array([[0, 3, 9], [1, 2, -1]], dtype="int32")
    oracle.assert_close(ours(ids), theirs(ids))
    np.testing.assert_array_equal(ours.compute_mask(torch.as_tensor(ids)).numpy(),
                                  oracle.to_numpy(theirs.compute_mask(ids)))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int64", "float32", "float64"])
def test_any_integer_dtype_and_floats_holding_integers(dtype):
    ours, theirs = _pair()
    ids = np.array([[1, 7], [9, 0]]).astype(dtype)
    out = ours(ids)
    assert out.dtype == torch.float32
    oracle.assert_close(out, theirs(ids))


def test_initial_weights_and_lora_config():
    table = np.arange(40, dtype="float32").reshape(10, 4)
    layer = layers.Embedding(10, 4, weights=table)
    np.testing.assert_array_equal(layer(np.array([2])).numpy(), table[[2]])
    keras = oracle.keras()
    ours = layers.Embedding(10, 4, lora_rank=2, name="e")
    theirs = keras.layers.Embedding(10, 4, lora_rank=2, name="e")
    oracle.assert_same_config(ours, theirs)
    ours.build()
    theirs.build()
    oracle.assert_same_weights_layout(ours, theirs)
    assert [v.name for v in ours.trainable_weights] == ["lora_embeddings_a", "lora_embeddings_b"]


def test_lora_saves_merged_table():
    layer = layers.Embedding(5, 3, lora_rank=2)
    layer.build()
    layer.lora_embeddings_b.assign(np.ones((2, 3), "float32"))
    expected = layer.embeddings.detach().numpy().copy()
    store = {}
    layer.save_own_variables(store)
    assert list(store) == ["0"]
    np.testing.assert_allclose(np.asarray(store["0"]), expected)
    layer.load_own_variables(store)
    np.testing.assert_allclose(layer.embeddings.detach().numpy(), expected)


def test_harness():
    run_layer_test(layers.Embedding, init_kwargs={"input_dim": 6, "output_dim": 3},
                   input_shape=(2, 4), input_dtype="int32", expected_output_shape=(2, 4, 3),
                   expected_num_trainable_weights=1)


def test_bad_dims_are_reported():
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 2.5)
