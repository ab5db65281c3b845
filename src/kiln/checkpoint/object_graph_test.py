import numpy as np

import kiln
from kiln.checkpoint import object_graph
from kiln.checkpoint.checkpoint import Checkpoint

S = object_graph.VARIABLE_SUFFIX


def _keys(root):
    return sorted(k.removesuffix(S) for k in object_graph.Graph(root).tensors)


def _mlp(with_dropout=False):
    layers = [kiln.Input((4,)), kiln.layers.Dense(3)]
    if with_dropout:
        layers.append(kiln.layers.Dropout(0.5))
    layers.append(kiln.layers.Dense(2))
    return kiln.Sequential(layers)


def test_sequential_keys_count_layers_with_weights():
    expected = ["layer_with_weights-0/bias", "layer_with_weights-0/kernel",
                "layer_with_weights-1/bias", "layer_with_weights-1/kernel"]
    assert _keys(_mlp()) == expected
    # A weightless layer changes no weight key (Dropout's seed generator is stored too).
    assert _keys(_mlp(with_dropout=True)) == ["layer-1/seed_generator/state"] + expected


def test_functional_edges_include_every_layer_index():
    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, kiln.layers.Dense(2)(kiln.layers.Dense(3)(inputs)))
    graph = object_graph.Graph(model)
    edges = [name for name, _ in graph.nodes[0]["children"]]
    assert edges[:5] == ["layer-0", "layer_with_weights-0", "layer-1", "layer_with_weights-1",
                         "layer-2"]


def test_subclassed_keys_use_attribute_names_not_layer_names():
    class Block(kiln.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = kiln.layers.Dense(2, name="some_name_9")
            self.blocks = [kiln.layers.Dense(2), kiln.layers.Dense(2)]
            self.table = {"a": kiln.layers.Dense(2)}
            self.scale = kiln.Variable(np.ones(2, "float32"), name="scale_var")

        def call(self, x):
            return self.inner(x)

    block = Block()
    for layer in [block.inner, *block.blocks, block.table["a"]]:
        layer.build((None, 2))
    assert _keys(block) == sorted(
        ["scale", "inner/kernel", "inner/bias", "blocks/0/kernel", "blocks/0/bias",
         "blocks/1/kernel", "blocks/1/bias", "table/a/kernel", "table/a/bias"])


def test_private_variable_attribute_uses_the_variable_name():
    class Custom(kiln.layers.Layer):
        def build(self, input_shape):
            self._kernel = self.add_weight(shape=(2, 2), name="kernel")
            self.w = self.add_weight(shape=(2,))

        def call(self, x):
            return x

    layer = Custom()
    layer.build((None, 2))
    assert _keys(layer) == ["kernel", "w"]


def test_guide_custom_layer_without_super_init():
    class CustomLayer(kiln.layers.Layer):
        def __init__(self, a):
            self.var = kiln.Variable(a, name="var_a")

    keys = sorted(object_graph.Graph(Checkpoint(layer=CustomLayer(5))).tensors)
    assert keys == ["layer/var" + S]


def test_optimizer_slots_hang_off_their_variables():
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    keys = _keys(model)
    assert "optimizer/iteration" in keys and "optimizer/learning_rate" in keys
    assert "layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/momentum" in keys
    assert "layer_with_weights-1/bias/.OPTIMIZER_SLOT/optimizer/velocity" in keys
    assert len(keys) == 4 + 2 + 8


def test_slots_without_their_variables_are_reported_dropped():
    model = _mlp()
    optimizer = kiln.optimizers.SGD(momentum=0.9)
    optimizer.build(model.trainable_variables)
    graph = object_graph.Graph(Checkpoint(optimizer=optimizer))
    assert len(graph.dropped_slots) == 4
    assert sorted(graph.tensors) == ["optimizer/iteration" + S, "optimizer/learning_rate" + S]


def test_slot_variables_pairs_every_slot():
    model = _mlp()
    optimizer = kiln.optimizers.Adam(amsgrad=True)
    optimizer.build(model.trainable_variables)
    slots = object_graph.slot_variables(optimizer)
    assert [name for _, name, _ in slots[:3]] == ["momentum", "velocity", "momentum"]
    assert len(slots) == 12
    assert all(ref.shape == slot.shape for ref, _, slot in slots)


def test_shared_variable_is_stored_once_under_its_shortest_path():
    dense = kiln.layers.Dense(2)
    dense.build((None, 3))
    graph = object_graph.Graph(Checkpoint(a=dense, b=dense.kernel))
    assert sorted(graph.tensors) == ["a/bias" + S, "b" + S]  # breadth first: `b` is shorter
    dense_node = graph.nodes[[c for name, c in graph.nodes[0]["children"] if name == "a"][0]]
    kernel_node = [c for name, c in dense_node["children"] if name == "kernel"][0]
    assert graph.nodes[kernel_node]["key"] == "b" + S


def test_plain_values_and_seed_generators():
    gen = kiln.random.SeedGenerator(3)
    graph = object_graph.Graph(Checkpoint(step=4, rate=0.5, table=np.arange(3), gen=gen))
    assert sorted(graph.tensors) == ["gen/state" + S, "rate" + object_graph.VALUE_SUFFIX,
                                     "step" + object_graph.VALUE_SUFFIX,
                                     "table" + object_graph.VALUE_SUFFIX]
    assert {n.get("kind") for n in graph.nodes if n.get("class") == "value"} == {
        "int", "float", "numpy"}


def test_compiled_model_metrics_are_not_part_of_the_weights():
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert not any("metric" in k or "loss" in k for k in _keys(model))
