import numpy as np
import pytest
import torch

from kiln.trainers import data_adapter


def test_batches_cover_every_sample_once_per_epoch():
    x = np.arange(10, dtype="float32").reshape(10, 1)
    it = data_adapter.make_iterator(x, np.arange(10), batch_size=4, shuffle=True)
    assert it.num_batches == 3
    torch.manual_seed(0)
    first = [xb[:, 0].tolist() for xb, _, _ in it]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10))
    torch.manual_seed(0)
    assert [xb[:, 0].tolist() for xb, _, _ in it] == first
    ordered = data_adapter.make_iterator(x, None, batch_size=4)
    assert [xb[:, 0].tolist() for xb, _, _ in ordered][0] == [0.0, 1.0, 2.0, 3.0]


def test_structures_are_kept_and_converted_once():
    x = {"a": np.zeros((5, 2)), "b": [np.ones((5, 1), "int32"), torch.zeros(5, 3)]}
    y = (np.zeros(5), np.ones((5, 2)))
    it = data_adapter.make_iterator(x, y, sample_weight=np.ones(5), batch_size=2)
    xb, yb, swb = next(iter(it))
    assert set(xb) == {"a", "b"} and isinstance(xb["b"], list) and isinstance(yb, tuple)
    assert xb["a"].dtype == torch.float32  # numpy float64 becomes float32
    assert xb["b"][0].dtype == torch.int32 and swb.dtype == torch.float32
    assert [t.shape[0] for t in (xb["a"], yb[1], swb)] == [2, 2, 2]


def test_batch_shuffle_and_steps_per_epoch_continue_across_epochs():
    x = np.arange(6, dtype="float32")
    it = data_adapter.make_iterator(x, None, batch_size=2, steps_per_epoch=2)
    epochs = [[xb.tolist() for xb, _, _ in it] for _ in range(3)]
    assert epochs == [[[0, 1], [2, 3]], [[4, 5], [0, 1]], [[2, 3], [4, 5]]]
    it = data_adapter.make_iterator(x, None, batch_size=2, shuffle="batch")
    assert sorted(xb.tolist() for xb, _, _ in it) == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ValueError, match="`shuffle` must be"):
        data_adapter.make_iterator(x, None, shuffle="yes")


def test_class_weight_to_sample_weight():
    labels = [torch.tensor([0, 1, 2, 1])]
    np.testing.assert_allclose(
        data_adapter.class_weight_to_sample_weight(labels, {1: 3.0}), [1, 3, 1, 3])
    one_hot = [torch.eye(3)[[2, 0]]]
    np.testing.assert_allclose(
        data_adapter.class_weight_to_sample_weight(one_hot, {2: 0.5}), [0.5, 1])
    with pytest.raises(ValueError, match="single output"):
        data_adapter.class_weight_to_sample_weight(labels * 2, {0: 1.0})


def test_unpack_and_errors():
    assert data_adapter.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert data_adapter.unpack_x_y_sample_weight([1]) == (1, None, None)
    with pytest.raises(ValueError, match="found a tuple of 4 elements"):
        data_adapter.unpack_x_y_sample_weight((1, 2, 3, 4))
    with pytest.raises(ValueError, match="`y` must not be given"):
        data_adapter.make_iterator(iter([]), np.zeros(3))
    with pytest.raises(ValueError, match="Unrecognized data type"):
        data_adapter.make_iterator(np.zeros(3), {"a": object()}, batch_size=1)
    with pytest.raises(ValueError, match="not sufficient"):
        data_adapter.train_validation_split((np.zeros(1), None, None), 0.1)
    with pytest.raises(ValueError, match="only supported for tensors or numpy arrays"):
        data_adapter.train_validation_split((iter([]), None, None), 0.5)


def test_flatten_and_pack_round_trip():
    a, b, c, d = (np.zeros(i + 1) for i in range(4))
    structure = {"a": [a, (b, c)], "b": d}
    leaves, spec = data_adapter.flatten(structure)
    assert [len(v) for v in leaves] == [1, 2, 3, 4]
    rebuilt = data_adapter.pack(spec, leaves)
    assert isinstance(rebuilt["a"][1], tuple) and rebuilt["b"] is d
    # A list of plain numbers is one array, not a list of inputs.
    assert data_adapter.flatten([1.0, 2.0])[1] == "leaf"
