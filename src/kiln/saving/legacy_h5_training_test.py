"""Legacy `.h5` training state: training_config, lenient compile, optimizer slots restored."""

import json
import os
import warnings

import h5py
import numpy as np
import pytest

import kiln
from kiln.saving import legacy_h5_training as training

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test_data", "legacy_h5")


def golden(name):
    return os.path.join(GOLDEN, name)


def _model():
    inp = kiln.Input((4,), name="inp")
    x = kiln.layers.Dense(3, activation="relu", name="d1")(inp)
    x = kiln.layers.BatchNormalization(name="bn")(x)
    return kiln.Model(inp, kiln.layers.Dense(2, name="d2")(x), name="small")


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum", "rmsprop"])
def test_training_resumes_from_h5_with_the_same_next_step_loss(tmp_path, optimizer):
    model = _model()
    opt = {"adam": lambda: kiln.optimizers.Adam(0.01),
           "sgd_momentum": lambda: kiln.optimizers.SGD(0.05, momentum=0.9),
           "rmsprop": lambda: kiln.optimizers.RMSprop(0.01, momentum=0.5, centered=True)}[optimizer]
    model.compile(optimizer=opt(), loss="mean_squared_error", metrics=["mae"])
    x, y = _data()
    for _ in range(3):
        model.train_on_batch(x, y)
    model.save(tmp_path / "m.h5")
    restored = kiln.saving.load_model(tmp_path / "m.h5")
    assert type(restored.optimizer) is type(model.optimizer)
    assert int(restored.optimizer.iterations.numpy()) == 3
    for a, b in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for _ in range(2):
        assert restored.train_on_batch(x, y) == pytest.approx(model.train_on_batch(x, y), rel=1e-6)


def test_training_config_and_optimizer_weights_layout(tmp_path):
    model = _model()
    model.compile(optimizer=kiln.optimizers.Adam(name="adam"), loss="mean_squared_error",
                  metrics=["mae"])
    x, y = _data()
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        config = json.loads(f.attrs["training_config"])
        names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert f["optimizer_weights/adam/iteration"][()] == 1
    assert "optimizer" not in config
    assert config["loss"] == "mean_squared_error" and config["metrics"] == ["mae"]
    assert config["optimizer_config"]["class_name"] == "Adam"
    assert set(config["optimizer_config"]) == {"class_name", "config"}
    assert names[:4] == ["adam/iteration", "adam/learning_rate", "adam/d1_kernel_momentum",
                         "adam/d1_kernel_velocity"]
    assert len(names) == 2 + 2 * len(model.trainable_variables)


def test_loss_aliases_are_written_in_full(tmp_path):
    model = _model()
    model.compile(optimizer="sgd", loss={"d2": "mse"}, metrics=["mse"])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        config = json.loads(f.attrs["training_config"])
    assert config["loss"] == {"d2": "mean_squared_error"}
    assert config["metrics"] == ["mse"]


def test_include_optimizer_false(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.train_on_batch(*_data())
    model.save(tmp_path / "m.h5", include_optimizer=False)
    with h5py.File(tmp_path / "m.h5") as f:
        assert "training_config" not in f.attrs
        assert "optimizer_weights" not in f
    with pytest.warns(UserWarning, match="not compiled"):
        restored = kiln.saving.load_model(tmp_path / "m.h5")
    assert getattr(restored, "optimizer", None) is None


def test_compile_false_skips_training_state(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.save(tmp_path / "m.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = kiln.saving.load_model(tmp_path / "m.h5", compile=False)
    assert getattr(restored, "optimizer", None) is None


def test_keras2_golden_compiles_leniently_and_restores_adam_slots():
    with pytest.warns(UserWarning, match=r"jit_compile.*is_legacy_optimizer"):
        model = kiln.saving.load_model(golden("keras2_functional.h5"))
    optimizer = model.optimizer
    assert isinstance(optimizer, kiln.optimizers.Adam)
    assert int(optimizer.iterations.numpy()) == 7
    slots = {v.name: v.numpy() for v in optimizer.variables}
    with h5py.File(golden("keras2_functional.h5")) as f:
        group = f["optimizer_weights"]
        np.testing.assert_array_equal(slots["dense_kernel_momentum"],
                                      group["Adam/dense/kernel/m:0"][()])
        np.testing.assert_array_equal(slots["batch_normalization_beta_velocity"],
                                      group["Adam/batch_normalization/beta/v:0"][()])
        np.testing.assert_array_equal(slots["dense_1_bias_velocity"],
                                      group["Adam/dense_1/bias/v:0"][()])
    x = np.ones((4, 4), np.float32)
    assert np.all(np.isfinite(model.train_on_batch(x, np.zeros((4, 2), np.float32))))


def test_keras2_golden_sgd_with_tf211_slot_names_and_loss_object():
    with pytest.warns(UserWarning, match="jit_compile"):
        model = kiln.saving.load_model(golden("keras2_shared.h5"))
    optimizer = model.optimizer
    assert isinstance(optimizer, kiln.optimizers.SGD)
    assert optimizer.get_config()["momentum"] == pytest.approx(0.9)
    assert int(optimizer.iterations.numpy()) == 3
    slots = {v.name: v.numpy() for v in optimizer.variables}
    with h5py.File(golden("keras2_shared.h5")) as f:
        np.testing.assert_array_equal(slots["head_kernel_momentum"],
                                      f["optimizer_weights/SGD/m/head/kernel:0"][()])


@pytest.mark.parametrize("name, count", [("keras3_functional", 14), ("kiln_functional", 14)])
def test_keras3_and_kiln_goldens_restore_every_optimizer_variable(name, count):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = kiln.saving.load_model(golden(f"{name}.h5"))
    variables = model.optimizer.variables
    assert len(variables) == count
    with h5py.File(golden(f"{name}.h5")) as f:
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        for variable, stored in zip(variables, names):
            np.testing.assert_array_equal(variable.numpy(), group[stored][()])


def test_mismatched_optimizer_state_warns_and_lists_variables(tmp_path):
    model = _model()
    model.compile(optimizer=kiln.optimizers.Adam(name="adam"), loss="mean_squared_error")
    model.train_on_batch(*_data())
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:  # drop one slot from the file
        group = f["optimizer_weights"]
        names = [n.decode() for n in group.attrs["weight_names"]]
        del group[names[-1]]
        group.attrs["weight_names"] = np.array([n.encode() for n in names[:-1]])
    with pytest.warns(UserWarning, match=r"Restored 13 of 14 .*\n  adam/d2_bias_velocity"):
        kiln.saving.load_model(tmp_path / "m.h5")


def test_role_parsing_covers_keras2_keras3_and_kiln_names():
    assert training._role("Adam/iter:0") == ("iteration",)
    assert training._role("iteration:0") == ("iteration",)
    assert training._role("adam/learning_rate") == ("learning_rate",)
    assert training._role("Adam/dense/kernel/m:0") == ("slot", "dense_kernel", "momentum")
    assert training._role("Adam/v/seq/dense/bias:0") == ("slot", "seq_dense_bias", "velocity")
    assert training._role("m/dense/kernel:0") == ("slot", "dense_kernel", "momentum")
    assert training._role("adam/d1_kernel_velocity_hat") == ("slot", "d1_kernel", "velocity_hat")
    assert training._role("rmsprop/d_bias_average_gradient") == ("slot", "d_bias",
                                                                 "average_gradient")


def test_unknown_optimizer_keys_are_dropped_with_a_warning():
    with pytest.warns(UserWarning, match=r"decay.*made_up"):
        opt = training._optimizer({"class_name": "Custom>Adam", "config": {
            "learning_rate": 0.5, "decay": 0.0, "made_up": 1}}, None)
    assert isinstance(opt, kiln.optimizers.Adam)
    assert float(opt.learning_rate.numpy()) == pytest.approx(0.5)
