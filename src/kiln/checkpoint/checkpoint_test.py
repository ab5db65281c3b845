import gc
import os
import warnings

import numpy as np
import pytest
import torch

import kiln
from kiln.checkpoint import Checkpoint, latest_checkpoint, load_checkpoint
from kiln.errors import WeightsMismatchError


def _dense(units=3, input_dim=4, seed=None):
    layer = kiln.layers.Dense(units)
    layer.build((None, input_dim))
    if seed is not None:
        g = torch.Generator().manual_seed(seed)
        for v in layer.weights:
            v.assign(torch.randn(v.shape, generator=g))
    return layer


class Contrived(kiln.Model):
    def __init__(self):
        super().__init__()
        self.first_dense = kiln.layers.Dense(3)
        self.kernel = self.add_weight(name="kernel", shape=(3, 2))
        self.bias = self.add_weight(name="bias", shape=(2,))

    def call(self, inputs):
        return kiln.ops.matmul(self.first_dense(inputs), self.kernel) + self.bias


def test_save_numbers_checkpoints_and_updates_the_state_file(tmp_path):
    ckpt = Checkpoint(dense=_dense(seed=1))
    prefix = str(tmp_path / "run")
    assert ckpt.save(prefix) == prefix + "-1"
    assert ckpt.save(prefix) == prefix + "-2"
    assert latest_checkpoint(tmp_path) == prefix + "-2"
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "run-1.data-00000-of-00001",
                                            "run-1.index", "run-2.data-00000-of-00001",
                                            "run-2.index"]
    assert int(load_checkpoint(prefix + "-2").get_tensor("save_counter")) == 2


def test_write_uses_the_exact_prefix_and_no_state_file(tmp_path):
    path = Checkpoint(dense=_dense()).write(str(tmp_path / "exact"))
    assert path == str(tmp_path / "exact")
    assert sorted(os.listdir(tmp_path)) == ["exact.data-00000-of-00001", "exact.index"]
    restored = _dense()
    Checkpoint(dense=restored).read(path).assert_consumed()


def test_restore_into_a_differently_structured_model(tmp_path):
    first, last = _dense(3, 4, seed=1), _dense(2, 3, seed=2)
    path = Checkpoint(dense=first, kernel=last.kernel, bias=last.bias).save(str(tmp_path / "c"))
    model = Contrived()
    model(np.ones((1, 4), "float32"))
    Checkpoint(dense=model.first_dense, kernel=model.kernel, bias=model.bias).restore(
        path).assert_consumed()
    np.testing.assert_array_equal(model.first_dense.kernel.numpy(), first.kernel.numpy())
    np.testing.assert_array_equal(model.kernel.numpy(), last.kernel.numpy())


def test_values_wait_for_layers_that_are_not_built(tmp_path):
    source = Contrived()
    source(np.ones((1, 4), "float32"))
    path = Checkpoint(model=source).save(str(tmp_path / "c"))
    target = Contrived()  # first_dense has no variables yet
    status = Checkpoint(model=target).restore(path)
    assert "model/first_dense/kernel/.ATTRIBUTES/VARIABLE_VALUE" in status.unused_keys
    with pytest.raises(AssertionError, match="waiting for objects that are not built yet"):
        status.assert_consumed()
    np.testing.assert_array_equal(target.kernel.numpy(), source.kernel.numpy())
    target(np.ones((1, 4), "float32"))  # builds first_dense: its values arrive now
    status.assert_consumed()
    np.testing.assert_array_equal(target.first_dense.kernel.numpy(),
                                  source.first_dense.kernel.numpy())


def test_deferred_values_survive_dropping_the_status(tmp_path):
    source = kiln.Sequential([kiln.layers.Dense(3), kiln.layers.Dense(2)])
    source(np.ones((1, 4), "float32"))
    source.save_weights(str(tmp_path / "w"))
    target = kiln.Sequential([kiln.layers.Dense(3), kiln.layers.Dense(2)])
    target.load_weights(str(tmp_path / "w"))  # status dropped at once
    gc.collect()
    target(np.ones((1, 4), "float32"))
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_plain_values_round_trip(tmp_path):
    ckpt = Checkpoint(step=41, rate=0.25, flag=True, table=np.arange(4), t=torch.ones(2))
    path = ckpt.save(str(tmp_path / "c"))
    other = Checkpoint(step=0, rate=0.0, flag=False, table=np.zeros(1), t=torch.zeros(1))
    other.restore(path).assert_consumed()
    assert (other.step, other.rate, other.flag) == (41, 0.25, True)
    assert type(other.step) is int and isinstance(other.t, torch.Tensor)
    np.testing.assert_array_equal(other.table, np.arange(4))
    assert int(other.save_counter.numpy()) == 1


def test_shape_mismatch_lists_every_problem_and_changes_nothing(tmp_path):
    path = Checkpoint(a=_dense(3, 4), b=_dense(2, 3)).save(str(tmp_path / "c"))
    a, b = _dense(5, 4, seed=3), _dense(2, 7, seed=4)
    before = [v.numpy().copy() for v in a.weights + b.weights]
    with pytest.raises(WeightsMismatchError) as info:
        Checkpoint(a=a, b=b).restore(path)
    message = str(info.value)
    assert "3 problems" in message and "Nothing was restored" in message
    assert "a/kernel/.ATTRIBUTES/VARIABLE_VALUE  expected (4, 5) float32, found (4, 3) float32" \
        in message
    assert len(info.value.problems) == 3
    for old, v in zip(before, a.weights + b.weights):
        np.testing.assert_array_equal(old, v.numpy())


def test_assert_consumed_names_both_sides(tmp_path):
    path = Checkpoint(a=_dense(), extra=_dense()).save(str(tmp_path / "c"))
    status = Checkpoint(a=_dense(), other=_dense()).restore(path)
    with pytest.raises(AssertionError) as info:
        status.assert_consumed()
    text = str(info.value)
    assert "extra/kernel/.ATTRIBUTES/VARIABLE_VALUE  present in the checkpoint, not used" in text
    assert "other/kernel/.ATTRIBUTES/VARIABLE_VALUE  present in the objects, missing" in text
    with pytest.raises(AssertionError, match="left existing variables unrestored"):
        status.assert_existing_objects_matched()
    status.assert_nontrivial_match()
    status.expect_partial()


def test_extra_checkpoint_values_pass_existing_objects_matched_and_warn(tmp_path):
    path = Checkpoint(a=_dense(), extra=_dense()).save(str(tmp_path / "c"))
    with pytest.warns(UserWarning, match="2 values of checkpoint .* were not used"):
        Checkpoint(a=_dense()).restore(path).assert_existing_objects_matched()
        gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Checkpoint(a=_dense()).restore(path).expect_partial()
        gc.collect()


def test_restore_none_and_folders(tmp_path):
    status = Checkpoint(a=_dense()).restore(None)
    with pytest.raises(AssertionError, match="No checkpoint was given"):
        status.assert_consumed()
    source = _dense(seed=5)
    Checkpoint(a=source).save(str(tmp_path / "c"))
    target = _dense()
    Checkpoint(a=target).restore(str(tmp_path)).assert_consumed()  # folder -> latest
    np.testing.assert_array_equal(target.kernel.numpy(), source.kernel.numpy())


def test_async_save_writes_in_background_and_restore_waits(tmp_path):
    layer = _dense(seed=6)
    ckpt = Checkpoint(a=layer)
    path = ckpt.save(str(tmp_path / "c"), async_save=True)
    expected = layer.kernel.numpy().copy()
    layer.kernel.assign(np.zeros((4, 3), "float32"))  # after the snapshot: not saved
    ckpt.sync()
    target = _dense()
    Checkpoint(a=target).restore(path).assert_consumed()
    np.testing.assert_array_equal(target.kernel.numpy(), expected)
    assert latest_checkpoint(tmp_path) == path


def test_async_errors_surface_at_the_next_save_or_sync(tmp_path, monkeypatch):
    from kiln.checkpoint import format as fmt

    def broken(prefix, tensors):
        raise OSError("No space left on device")

    monkeypatch.setattr(fmt, "write", broken)
    ckpt = Checkpoint(a=_dense())
    ckpt.save(str(tmp_path / "c"), async_save=True)  # returns; the write fails behind
    with pytest.raises(OSError, match="No space left") as info:
        ckpt.save(str(tmp_path / "c"), async_save=True)
    assert "in the background" in " ".join(info.value.__notes__)
    ckpt.sync()  # each failure is reported once; the failed save started nothing
    ckpt.save(str(tmp_path / "c"), async_save=True)
    with pytest.raises(OSError, match="No space left"):
        ckpt.sync()
    assert latest_checkpoint(tmp_path) is None


def test_unsupported_attribute_is_refused():
    with pytest.raises(ValueError, match="must be a layer, model, optimizer"):
        Checkpoint(model="not a model")


def test_metrics_optimizers_and_seed_generators_round_trip(tmp_path):
    mean = kiln.metrics.Mean()
    mean.update_state([1.0, 2.0, 6.0])
    dense = _dense(seed=7)
    optimizer = kiln.optimizers.SGD(learning_rate=0.5, momentum=0.9)
    optimizer.apply([torch.ones(4, 3), torch.ones(3)], [dense.kernel, dense.bias])
    gen = kiln.random.SeedGenerator(5)
    gen.next()
    path = Checkpoint(mean=mean, dense=dense, optimizer=optimizer, gen=gen).save(
        str(tmp_path / "c"))
    mean2, dense2, gen2 = kiln.metrics.Mean(), _dense(), kiln.random.SeedGenerator(1)
    optimizer2 = kiln.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    status = Checkpoint(mean=mean2, dense=dense2, optimizer=optimizer2, gen=gen2).restore(path)
    assert float(mean2.result()) == 3.0
    assert float(optimizer2.learning_rate.numpy()) == 0.5
    np.testing.assert_array_equal(gen2.state.numpy(), gen.state.numpy())
    optimizer2.build([dense2.kernel, dense2.bias])  # the momentum slots arrive now
    status.assert_consumed()
    for a, b in zip(optimizer.variables, optimizer2.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "build" not in vars(optimizer2)  # the one-shot build wrapper removed itself
