import numpy as np

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def test_matches_keras_scalars_and_arrays():
    keras = oracle.keras()
    for kwargs in ({"scale": 1.0 / 255}, {"scale": 2.0, "offset": -1.0},
                   {"scale": np.array([1.0, 2.0, 3.0], "float32"), "offset": 0.5}):
        ours = layers.Rescaling(name="r", **kwargs)
        theirs = keras.layers.Rescaling(name="r", **kwargs)
        oracle.assert_same_config(ours, theirs)
        x = (np.random.default_rng(0).uniform(0, 255, (2, 4, 3))).astype("float32")
        oracle.assert_close(ours(x), theirs(x))


def test_integer_images_are_cast():
    out = layers.Rescaling(1.0 / 255)(np.array([[0, 255]], dtype="uint8"))
    assert str(out.dtype) == "torch.float32"
    np.testing.assert_allclose(out.numpy(), [[0.0, 1.0]])


def test_array_scale_round_trips_through_config():
    layer = layers.Rescaling(scale=np.array([1.0, 2.0], "float32"))
    revived = layers.Rescaling.from_config(layer.get_config())
    np.testing.assert_allclose(revived(np.ones((1, 2), "float32")).numpy(), [[1.0, 2.0]])


def test_harness():
    run_layer_test(layers.Rescaling, init_kwargs={"scale": 0.5, "offset": 1.0},
                   input_shape=(2, 3), expected_output_shape=(2, 3))
