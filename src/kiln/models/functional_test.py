import numpy as np
import pytest
import torch

import kiln
from kiln.layers.layer import Layer
from kiln.models import Model, Sequential


class Scale(Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w.value * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Concat(Layer):
    def call(self, xs):
        return torch.cat(xs, dim=-1)


def test_operations_order_is_keras_depth_order_not_creation_order():
    inp = kiln.Input((4,), name="a")
    second = Scale(name="second")(inp)
    first = Scale(name="first")(inp)
    out = Concat(name="cat")([second, first])
    model = Model(inp, out)
    assert [l.name for l in model.layers] == ["a", "second", "first", "cat"]
    assert out.shape == (None, 8)


def test_multi_input_multi_output_dict_and_list_calls():
    a = kiln.Input((3,), name="x1")
    b = kiln.Input((2,), name="x2")
    joined = Concat(name="join")([a, b])
    out1 = Scale(name="o1")(joined)
    out2 = Scale(3.0, name="o2")(b)
    model = Model({"x1": a, "x2": b}, [out1, out2])
    y1, y2 = model({"x1": np.ones((5, 3)), "x2": np.ones((5, 2))})
    assert y1.shape == (5, 5) and y2.shape == (5, 2)
    np.testing.assert_allclose(np.asarray(y2), 3.0)


def test_shared_layer_and_nested_model():
    inner_in = kiln.Input((4,))
    inner = Model(inner_in, Scale(name="inner_scale")(inner_in), name="inner")
    x = kiln.Input((4,), name="x")
    shared = Scale(name="shared")
    y = shared(inner(shared(x)))
    model = Model(x, y)
    assert [l.name for l in model.layers] == ["x", "shared", "inner"]
    assert len(shared._inbound_nodes) == 2
    np.testing.assert_allclose(np.asarray(model(np.ones((1, 4)))), 8.0)


def test_graph_disconnected_names_missing_input():
    a = kiln.Input((3,), name="in_a")
    b = kiln.Input((3,), name="in_b")
    out = Concat()([a, b])
    with pytest.raises(ValueError, match="in_b"):
        Model(a, out)


def test_duplicate_layer_names_rejected():
    x = kiln.Input((3,))
    y = Scale(name="same")(Scale(name="same")(x))
    with pytest.raises(ValueError, match="same"):
        Model(x, y)


def test_wrong_input_shape_names_model_and_shapes():
    x = kiln.Input((3,), name="inp")
    model = Model(x, Scale()(x))
    with pytest.raises(ValueError, match=r"expected shape \(None, 3\).*\(2, 5\)"):
        model(np.ones((2, 5)))


def test_sequential_with_input_and_deferred_build():
    model = Sequential([kiln.Input((4,)), Scale(), Scale()])
    assert model.built and len(model.weights) == 2
    deferred = Sequential([Scale(), Scale()])
    assert not deferred.built
    deferred(np.ones((2, 3)))
    assert deferred.built and deferred.weights[0].shape == (3,)
    deferred.pop()
    assert len(deferred.layers) == 1


def test_subclassed_model_tracks_lists_and_builds_from_shape():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.blocks = [Scale(), Scale()]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    net = Net()
    net.build((None, 5))
    assert net.built and len(net.weights) == 2
    assert [n for n, _ in net.named_parameters()] == ["blocks.0.w", "blocks.1.w"]


def test_functional_subclass_via_super_init():
    class FModel(Model):
        def __init__(self, **kwargs):
            inputs = kiln.Input((2,))
            super().__init__(inputs, Scale()(inputs), **kwargs)

    model = FModel()
    assert model(np.ones((1, 2))).shape == (1, 2)


def test_torch_compile_runs_a_functional_model():
    x = kiln.Input((4,))
    model = Model(x, Scale()(x))
    compiled = torch.compile(model)
    np.testing.assert_allclose(np.asarray(compiled(torch.ones(2, 4))), 2.0)
