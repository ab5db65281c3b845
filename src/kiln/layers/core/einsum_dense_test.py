import numpy as np
import pytest
import torch

from kiln import layers
from kiln.layers import _oracle_testlib as oracle
from kiln.layers.core.einsum_dense import matmul_plan
from kiln.testing import run_layer_test

CASES = [
    ("ab,bc->ac", (4,), "c", (2, 3)),
    ("abc,cde->abde", (None, 2, 5), "de", (2, 7, 3)),
    ("abcd,cde->abe", (None, 6), "e", (2, 7, 2, 5)),
    ("...b,bc->...c", (4,), "c", (2, 3, 5)),
    ("ab...,bc->ac...", (4, 6), "c", (2, 3, 6)),
    ("abc,cd->abd", (None, 4), None, (2, 5, 3)),
    ("abc,cde->abde", (None, 2, 5), "e", (2, 7, 3)),
    ("abc,dce->abde", (None, 2, 5), "de", (2, 7, 3)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape", CASES)
def test_matches_keras(equation, output_shape, bias_axes, input_shape):
    keras = oracle.keras()
    kwargs = dict(equation=equation, output_shape=output_shape, bias_axes=bias_axes,
                  activation="relu", name="ed")
    ours, theirs = layers.EinsumDense(**kwargs), keras.layers.EinsumDense(**kwargs)
    oracle.assert_same_config(ours, theirs)
    ours.build(input_shape)
    theirs.build(input_shape)
    oracle.assert_same_weights_layout(ours, theirs)
    oracle.copy_weights(ours, theirs)
    x = oracle.random(input_shape)
    oracle.assert_close(ours(x), theirs(x))
    assert ours.compute_output_shape(input_shape) == tuple(theirs.compute_output_shape(input_shape))


def test_fans_come_from_the_equation():
    # (16 -> heads x key_dim): glorot limit uses fan_in=16, fan_out=2*8 like Keras.
    layer = layers.EinsumDense("abc,cde->abde", (None, 2, 8), kernel_initializer="ones")
    layer.build((1, 3, 16))
    assert layer.weights[0].shape == (16, 2, 8)
    glorot = layers.EinsumDense("abc,cde->abde", (None, 2, 8))
    glorot.build((1, 3, 16))
    limit = np.sqrt(6.0 / (16 + 16))
    assert np.abs(glorot.weights[0].numpy()).max() <= limit
    assert glorot.get_config()["kernel_initializer"]["config"]["input_axes"] is None


def test_lora_merges_into_the_kernel():
    layer = layers.EinsumDense("ab,bc->ac", 3, bias_axes="c", lora_rank=2)
    layer.build((None, 4))
    layer.lora_kernel_b.assign(np.ones((2, 3), "float32"))
    store = {}
    layer.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    np.testing.assert_allclose(np.asarray(store["0"]), layer.kernel.detach().numpy())


def test_harness():
    run_layer_test(layers.EinsumDense,
                   init_kwargs={"equation": "abc,cd->abd", "output_shape": (3, 4),
                                "bias_axes": "d"},
                   input_shape=(2, 3, 5), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=2)


def test_unknown_output_dims_stay_unknown_symbolically_like_keras():
    import kiln

    layer = layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d")
    assert layer(kiln.Input((3, 5))).shape == (None, None, 4)


def test_bad_equations_are_reported():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("a,b", 3).build((2, 3))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").build((2, 3))


@pytest.mark.parametrize("equation,bias_axes,kernel_shape,plan", [
    ("abc,cde->abde", "de", [3, 2, 5], (2, 3, 3, (2, 5))),
    ("abcd,cde->abe", "e", [2, 5, 6], (2, 4, 10, (6,))),
    ("abc,cd->abd", None, [3, 4], (2, 3, 3, (4,))),
    ("abc,cde->abde", "e", [3, 2, 5], None),  # bias over part of the output
    ("abc,dce->abde", "de", [2, 3, 5], None),  # kernel letters out of order
    ("abc,bcd->abd", None, [7, 3, 4], None),  # a batch letter in the kernel
    ("...b,bc->...c", "c", [5, 4], None),  # ellipsis
])
def test_matmul_plan_only_for_plain_products(equation, bias_axes, kernel_shape, plan):
    assert matmul_plan(equation, bias_axes, kernel_shape) == plan


def test_matmul_path_backpropagates_like_einsum():
    layer = layers.EinsumDense("abc,cde->abde", (None, 2, 5), bias_axes="de",
                               bias_initializer="random_normal")
    x = torch.randn(2, 7, 3, requires_grad=True)
    layer(x).square().sum().backward()
    ours = [x.grad.clone(), layer._kernel.value.grad.clone(), layer.bias.value.grad.clone()]
    for t in (x, layer._kernel.value, layer.bias.value):
        t.grad = None
    ref = torch.einsum("abc,cde->abde", x, layer._kernel.value) + layer.bias.value
    ref.square().sum().backward()
    for got, want in zip(ours, [x.grad, layer._kernel.value.grad, layer.bias.value.grad]):
        torch.testing.assert_close(got, want)
