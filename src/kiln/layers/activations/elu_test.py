from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.testing import run_layer_test


def test_matches_keras_including_key_order():
    keras = oracle.keras()
    for kwargs in ({}, {"alpha": 0.5}):
        ours, theirs = layers.ELU(name="e", **kwargs), keras.layers.ELU(name="e", **kwargs)
        oracle.assert_same_config(ours, theirs)
        x = oracle.random((3, 4))
        oracle.assert_close(ours(x), theirs(x))


def test_harness():
    run_layer_test(layers.ELU, init_kwargs={"alpha": 0.7}, input_shape=(2, 3),
                   expected_output_shape=(2, 3))
