import numpy as np
import pytest
import torch

import kiln
from kiln.trainers import _oracle_testlib as lib

keras = pytest.importorskip("keras")


def _assert_logs_close(ours, theirs, atol=1e-5):
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], atol=atol, err_msg=key)


def test_single_output_fit_and_evaluate_match_keras():
    ours, theirs = lib.twins(lib.mlp)
    x, y = lib.classification_data()
    args = dict(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy", "sparse_categorical_crossentropy"])
    ours.compile(optimizer=kiln.optimizers.SGD(0.1),
                 loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=args["metrics"])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), **args)
    fit = dict(batch_size=5, epochs=2, shuffle=False, verbose=0, validation_data=(x, y))
    _assert_logs_close(ours.fit(x, y, **fit).history, theirs.fit(x, y, **fit).history)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_multi_output_names_losses_and_order_match_keras():
    ours, theirs = lib.twins(lib.two_heads)
    x, y = lib.two_heads_data()
    for model, m in ((ours, kiln), (theirs, keras)):
        model.compile(optimizer=m.optimizers.SGD(0.05),
                      loss={"reg": "mse", "cls": m.losses.SparseCategoricalCrossentropy(
                          from_logits=True)},
                      loss_weights={"reg": 0.5, "cls": 2.0},
                      metrics={"reg": ["mae"], "cls": ["accuracy"]})
    fit = dict(batch_size=8, epochs=1, shuffle=False, verbose=0)
    h_ours, h_theirs = ours.fit(x, y, **fit).history, theirs.fit(x, y, **fit).history
    assert list(h_ours) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    _assert_logs_close(h_ours, h_theirs)
    assert ours.metrics_names == theirs.metrics_names == ["loss", "compile_metrics", "reg_loss",
                                                          "cls_loss"]
    y_list = [y["reg"], y["cls"]]
    np.testing.assert_allclose(ours.evaluate(x, y_list, verbose=0),
                               theirs.evaluate(x, y_list, verbose=0), atol=1e-5)
    _assert_logs_close(ours.evaluate(x, y, verbose=0, return_dict=True),
                       theirs.evaluate(x, y, verbose=0, return_dict=True))
    pred = ours.predict(x, verbose=0)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(20, 1), (20, 3)]


def test_sample_weight_class_weight_and_regularization_match_keras():
    ours, theirs = lib.twins(lib.mlp, regularizer="l2")
    x, y = lib.classification_data()
    sw = np.linspace(0.1, 2.0, len(x)).astype("float32")
    for model, m in ((ours, kiln), (theirs, keras)):
        model.compile(optimizer=m.optimizers.SGD(0.1),
                      loss=m.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], weighted_metrics=["accuracy"])
    fit = dict(batch_size=6, shuffle=False, verbose=0)
    _assert_logs_close(ours.fit(x, y, sample_weight=sw, **fit).history,
                       theirs.fit(x, y, sample_weight=sw, **fit).history)
    cw = {0: 0.5, 1: 2.0}
    _assert_logs_close(ours.fit(x, y, class_weight=cw, **fit).history,
                       theirs.fit(x, y, class_weight=cw, **fit).history)
    assert ours.losses and float(ours.evaluate(x, y, verbose=0)[0]) > 0


def test_validation_split_uses_the_last_samples():
    ours, theirs = lib.twins(lib.mlp)
    x, y = lib.classification_data(20)
    for model, m in ((ours, kiln), (theirs, keras)):
        model.compile(optimizer=m.optimizers.SGD(0.1),
                      loss=m.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit = dict(batch_size=4, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    _assert_logs_close(ours.fit(x, y, **fit).history, theirs.fit(x, y, **fit).history)


def test_evaluate_return_forms():
    model = lib.mlp(kiln)
    x, y = lib.classification_data()
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True),
                  metrics=["acc"])
    loss, acc = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"acc": acc, "loss": loss}
    logs = model.train_on_batch(x[:4], y[:4], return_dict=True)
    assert sorted(logs) == ["acc", "loss"]
    assert len(model.test_on_batch(x[:4], y[:4])) == 2
    assert model.predict_on_batch(x[:4]).shape == (4, 3)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "int64"])
def test_integer_labels_of_any_dtype(dtype):
    model = lib.mlp(kiln)
    x, y = lib.classification_data()
    model.compile(optimizer="adam", loss=kiln.losses.SparseCategoricalCrossentropy(True),
                  metrics=["accuracy"])
    history = model.fit(x, y.astype(dtype), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_torch_tensors_and_integer_images_are_accepted():
    model = kiln.Sequential([kiln.Input((2, 2)), kiln.layers.Flatten(), kiln.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    images = torch.randint(0, 255, (8, 2, 2), dtype=torch.uint8)
    labels = torch.randint(0, 2, (8,))
    model.fit(images, labels, verbose=0)
    assert model.predict(images.numpy(), verbose=0).dtype == np.float32


def test_generators_dataloaders_and_datasets():
    x, y = lib.classification_data(24)
    model = lib.mlp(kiln)
    model.compile(optimizer="adam", loss=kiln.losses.SparseCategoricalCrossentropy(True),
                  metrics=["accuracy"])

    def generator():
        while True:
            for i in range(0, 24, 8):
                yield x[i:i + 8], y[i:i + 8], np.ones(8, "float32")

    history = model.fit(generator(), steps_per_epoch=3, epochs=2, verbose=0,
                        validation_data=generator(), validation_steps=3)
    assert history.params["steps"] == 3 and len(history.history["val_loss"]) == 2
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    history = model.fit(loader, epochs=2, verbose=0, validation_data=loader)
    assert history.params["steps"] == 3
    assert model.fit(dataset, batch_size=6, verbose=0).params["steps"] == 4
    assert model.predict(loader, verbose=0).shape == (24, 3)
    loss, acc = model.evaluate(dataset, verbose=0)
    np.testing.assert_allclose([loss, acc], model.evaluate(x, y, verbose=0), atol=1e-6)


def test_exhausted_generator_warns_and_stops():
    x, y = lib.classification_data(8)
    model = lib.mlp(kiln)
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    batches = ((x[i:i + 4], y[i:i + 4]) for i in (0, 4))
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_shuffling_follows_the_seed():
    x, y = lib.classification_data(32)

    def train(seed):
        kiln.utils.set_random_seed(0)
        model = lib.mlp(kiln)
        model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
        kiln.utils.set_random_seed(seed)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        return model.get_weights()

    same = [np.array_equal(a, b) for a, b in zip(train(1), train(1))]
    different = [np.array_equal(a, b) for a, b in zip(train(1), train(2))]
    assert all(same) and not all(different)


def test_training_flag_reaches_dropout():
    model = lib.mlp(kiln, dropout=0.9)
    x, y = lib.classification_data(64)
    model.compile(optimizer=kiln.optimizers.SGD(0.0),
                  loss=kiln.losses.SparseCategoricalCrossentropy(True))
    train_loss = model.fit(x, y, batch_size=64, verbose=0).history["loss"][0]
    assert abs(train_loss - model.evaluate(x, y, verbose=0)) > 1e-3
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))


def test_steps_per_epoch_and_initial_epoch_with_arrays():
    x, y = lib.classification_data(10)
    model = lib.mlp(kiln)
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, batch_size=4, steps_per_epoch=5, epochs=3, initial_epoch=1,
                        verbose=0)
    assert history.epoch == [1, 2] and history.params["steps"] == 5
    assert int(model.optimizer.iterations.numpy()) == 10


def test_validation_freq():
    x, y = lib.classification_data(8)
    model = lib.mlp(kiln)
    model.compile(optimizer="sgd", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2


def test_grads_are_released_after_each_step():
    x, y = lib.classification_data(8)
    model = lib.mlp(kiln)
    model.compile(optimizer="adam", loss=kiln.losses.SparseCategoricalCrossentropy(True))
    model.fit(x, y, verbose=0)
    assert all(v.value.grad is None for v in model.trainable_variables)
