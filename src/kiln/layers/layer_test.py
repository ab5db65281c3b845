import numpy as np
import pytest
import torch

import kiln
from kiln.layers.layer import Layer


class Linear(Layer):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="w")
        self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                       name="counter")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, x):
        return x @ self.w.value + self.b.value

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Block(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pair = [Linear(4), Linear(2)]
        self.head = Linear(1)

    def call(self, x):
        for layer in self.pair:
            x = layer(x)
        return self.head(x)


def test_weights_follow_keras_order_trainable_first():
    layer = Linear(3)
    layer(np.ones((2, 5)))
    assert [v.name for v in layer.weights] == ["w", "b", "counter"]
    assert [v.path for v in layer.weights] == [f"{layer.name}/w", f"{layer.name}/b",
                                               f"{layer.name}/counter"]
    assert [v.name for v in layer.trainable_weights] == ["w", "b"]
    assert [v.name for v in layer.non_trainable_weights] == ["counter"]


def test_layer_is_a_torch_module_with_parameters_and_buffers():
    layer = Block()
    layer(np.ones((2, 5), dtype="float32"))
    assert isinstance(layer, torch.nn.Module)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["pair.0.w", "pair.0.b", "pair.1.w", "pair.1.b", "head.w", "head.b"]
    state = layer.state_dict()
    assert "pair.0.counter" in state
    fresh = Block()
    fresh(np.ones((2, 5), dtype="float32"))
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(1.0)
    fresh.load_state_dict(layer.state_dict())
    for a, b in zip(fresh.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trainable_flag_propagates_to_sublayers_and_variables():
    layer = Block()
    layer(np.ones((1, 5)))
    layer.trainable = False
    assert layer.trainable_weights == []
    assert all(not sub.trainable for sub in layer.pair)
    assert len(layer.non_trainable_weights) == 9


def test_set_weights_reports_every_bad_shape_and_changes_nothing():
    layer = Linear(3)
    layer(np.ones((1, 2)))
    before = layer.get_weights()
    with pytest.raises(ValueError) as info:
        layer.set_weights([np.ones((3, 3)), np.ones((4,)), np.ones(())])
    message = str(info.value)
    assert layer.name in message and "/w" in message and "/b" in message
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected 3 weights, but received 1"):
        layer.set_weights([np.ones((2, 3))])


def test_eager_output_converts_to_numpy_while_tracking_gradients():
    layer = Linear(2)
    out = layer(torch.ones(3, 4))
    assert out.requires_grad
    assert np.asarray(out).shape == (3, 2)
    np.testing.assert_allclose(out.numpy(), np.full((3, 2), 4.0))
    out.sum().backward()
    assert layer.w.value.grad is not None


def test_torch_module_output_feeds_layer_and_layer_lives_in_torch_module():
    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = torch.nn.Linear(4, 4)
            self.post = Linear(2)

        def forward(self, x):
            return self.post(self.pre(x))

    module = Wrapper()
    y = module(torch.ones(2, 4))
    assert y.shape == (2, 2)
    assert len(list(module.parameters())) == 4


def test_unique_auto_names():
    a, b = Linear(), Linear()
    assert a.name != b.name and a.name.startswith("linear") and b.name.startswith("linear")


def test_variable_standalone():
    v = kiln.Variable(2.0, name="var_a")
    v.assign_add(1.0)
    assert float(v.numpy()) == 3.0
    assert v.name == "var_a" and v.shape == () and v.dtype == "float32"
    assert float(v * 2) == 6.0
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones(3))


def test_add_loss_is_reset_between_calls():
    class WithLoss(Layer):
        def call(self, x):
            self.add_loss(x.sum())
            return x

    layer = WithLoss()
    layer(np.ones((2, 2)))
    layer(np.ones((2, 2)))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == 4.0


def test_unknown_constructor_kwarg_is_named():
    with pytest.raises(ValueError, match="bogus"):
        Linear(3, bogus=1)


def test_input_spec_is_checked_on_every_new_shape():
    dense = kiln.layers.Dense(2)
    dense(np.ones((3, 4), "float32"))
    dense(np.ones((5, 4), "float32"))  # same feature size, new batch: fine
    with pytest.raises(ValueError, match="expected axis -1 of the input to have value 4"):
        dense(np.ones((5, 3), "float32"))
    dense(np.ones((3, 4), "float32"))


def test_sublayers_are_tracked_once_in_order_and_untracked_on_delete():
    import copy

    outer, a, b, c = (Layer(name="outer"), kiln.layers.Dense(2), kiln.layers.Dense(3),
                      kiln.layers.Dense(4))
    outer.first = a
    outer.again = a  # the same layer under a second name: tracked once
    outer.items = [b, a]
    outer.solo = c
    assert outer._tracked_layers == [a, b, c]
    del outer.solo
    assert outer._tracked_layers == [a, b] and not hasattr(outer, "solo")
    twin = copy.deepcopy(outer)
    twin.extra = twin.first  # already tracked in the copy: not added again
    assert [type(x) for x in twin._tracked_layers] == [kiln.layers.Dense] * 2
    assert all(x is not y for x, y in zip(twin._tracked_layers, outer._tracked_layers))


def test_plain_attributes_bypass_torch_but_tensors_and_modules_do_not():
    layer = Layer()
    layer.note = "text"
    layer.register_buffer("stat", torch.zeros(2))
    layer.stat = torch.ones(2)  # still a buffer: torch's __setattr__ keeps it registered
    layer.sub = torch.nn.Linear(2, 2)
    assert layer.note == "text" and "note" not in layer._modules
    assert torch.equal(layer._buffers["stat"], torch.ones(2))
    assert "sub" in layer._modules and layer.sub.in_features == 2
    with pytest.raises(TypeError):  # a buffer may not become a plain value
        layer.stat = "not a tensor"


def test_unhashable_user_sublayers_are_tracked_by_identity():
    class Same(kiln.layers.Layer):
        def __eq__(self, other):  # equal to every other Same, and so unhashable
            return isinstance(other, Same)

    outer, a, b = Layer(), Same(), Same()
    outer.a, outer.b, outer.again = a, b, a
    assert len(outer._tracked_layers) == 2
    assert outer._tracked_layers[0] is a and outer._tracked_layers[1] is b
    del outer.b
    assert len(outer._tracked_layers) == 1 and outer._tracked_layers[0] is a
