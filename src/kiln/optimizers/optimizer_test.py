import warnings

import numpy as np
import pytest
import torch

import kiln
from kiln.optimizers import _oracle_testing as oracle
from kiln.optimizers import schedules
from kiln.optimizers.adam import Adam
from kiln.optimizers.optimizer import Optimizer
from kiln.optimizers.sgd import SGD


def _variables():
    return [kiln.Variable(np.ones((2, 3), "float32"), name="kernel"),
            kiln.Variable(np.zeros((3,), "float32"), name="bias")]


# -- state layout -----------------------------------------------------------------------
def test_iteration_and_learning_rate_variables_match_keras():
    keras = oracle.keras_module()
    expected = keras.optimizers.Adam(name="opt")
    optimizer = Adam(name="opt")
    assert [(v.path, v.dtype, tuple(v.shape)) for v in optimizer.variables] == [
        (v.path, v.dtype, tuple(v.shape)) for v in expected.variables]
    assert optimizer.iterations.dtype == "int32"  # Keras's in-memory dtype on torch
    assert optimizer.learning_rate.dtype == "float32"
    assert not any(v.trainable for v in optimizer.variables)


def test_default_names_follow_keras():
    assert Adam().name.startswith("adam")
    assert kiln.optimizers.RMSprop().name.startswith("rm_sprop")
    assert kiln.optimizers.AdamW().name.startswith("adam_w")
    first, second = SGD(), SGD()
    assert first.name != second.name


def test_slot_names_use_the_reference_path():
    kernel = kiln.Variable(np.ones((2,), "float32"), name="kernel")
    kernel.path = "dense/kernel"
    optimizer = Adam(name="adam_x")
    optimizer.build([kernel])
    assert [v.path for v in optimizer.variables][2:] == [
        "adam_x/dense_kernel_momentum", "adam_x/dense_kernel_velocity"]


@pytest.mark.parametrize("kwargs", [
    {"use_ema": True},
    {"gradient_accumulation_steps": 3},
    {"use_ema": True, "gradient_accumulation_steps": 2, "amsgrad": True},
])
def test_base_slots_come_before_algorithm_slots_as_in_keras(kwargs):
    # check_against_keras compares the full variable list: order, paths, values.
    oracle.check_against_keras(Adam, "Adam", kwargs, steps=6)


def test_build_is_idempotent():
    variables = _variables()
    optimizer = Adam()
    optimizer.build(variables)
    count = len(optimizer.variables)
    optimizer.build(variables)
    assert len(optimizer.variables) == count


# -- learning rate ----------------------------------------------------------------------
def test_learning_rate_is_a_settable_float32_variable():
    optimizer = SGD(learning_rate=0.1)
    variable = optimizer.learning_rate
    assert isinstance(variable, kiln.Variable)
    optimizer.learning_rate = 0.01
    assert optimizer.learning_rate is variable
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert optimizer.get_config()["learning_rate"] == float(np.float32(0.01))


def test_setting_a_schedule_untracks_the_learning_rate_variable():
    optimizer = SGD(learning_rate=0.1)
    optimizer.learning_rate = schedules.ExponentialDecay(0.5, 10, 0.5)
    assert [v.name for v in optimizer.variables] == ["iteration"]
    assert float(optimizer.learning_rate) == pytest.approx(0.5)
    with pytest.raises(TypeError, match="cannot be set to a number"):
        optimizer.learning_rate = 0.1


def test_schedule_learning_rate_matches_keras():
    keras = oracle.keras_module()
    kwargs = {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}
    keras_run, kiln_run = oracle.check_against_keras(
        Adam, "Adam", {"weight_decay": 0.1},
        learning_rates=(keras.optimizers.schedules.ExponentialDecay(**kwargs),
                        schedules.ExponentialDecay(**kwargs)))
    assert "opt/learning_rate" not in [v.path for v in kiln_run[1].variables]
    # With accumulation the schedule still sees every call (Keras's `_iterations`).
    oracle.check_against_keras(
        SGD, "SGD", {"gradient_accumulation_steps": 2, "momentum": 0.5}, steps=6,
        learning_rates=(keras.optimizers.schedules.ExponentialDecay(**kwargs),
                        schedules.ExponentialDecay(**kwargs)))


def test_callable_learning_rate():
    values = iter([0.5, 0.25])
    variable = kiln.Variable([0.0], name="w")
    optimizer = SGD(learning_rate=lambda: next(values))
    optimizer.apply([torch.ones(1)], [variable])
    optimizer.apply([torch.ones(1)], [variable])
    assert variable.numpy()[0] == pytest.approx(-0.75)
    assert [v.name for v in optimizer.variables] == ["iteration"]


def test_rejects_a_non_numeric_learning_rate():
    with pytest.raises(ValueError, match="learning_rate="):
        SGD(learning_rate="fast")


# -- gradient processing ----------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"clipnorm": 1.0},
    {"global_clipnorm": 1.5},
    {"clipvalue": 0.3},
    {"loss_scale_factor": 8.0},
    {"weight_decay": 0.2, "learning_rate": 0.05},
    {"use_ema": True, "ema_overwrite_frequency": 2},
    {"gradient_accumulation_steps": 3, "clipnorm": 0.5, "weight_decay": 0.1},
])
def test_options_match_keras(kwargs):
    oracle.check_against_keras(Adam, "Adam", kwargs, steps=6)


def test_finalize_variable_values_matches_keras():
    oracle.check_against_keras(Adam, "Adam", {"use_ema": True, "ema_momentum": 0.9},
                               finalize=True)


def test_none_gradients_are_skipped_like_keras():
    oracle.check_against_keras(Adam, "Adam", {"weight_decay": 0.1},
                               none_grads=[(1, 0), (2, 2), (3, 0)])


def test_none_gradients_warn_and_all_none_raises():
    variables = _variables()
    optimizer = SGD()
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['bias'\]"):
        optimizer.apply([torch.ones(2, 3), None], variables)
    with pytest.raises(ValueError, match="every gradient was None"):
        optimizer.apply([None, None], variables)


def test_global_clipnorm_scales_all_gradients_together():
    variables = [kiln.Variable([0.0, 0.0], name="a"), kiln.Variable([0.0], name="b")]
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply(
        [torch.tensor([3.0, 0.0]), torch.tensor([4.0])], variables)
    assert variables[0].numpy().tolist() == pytest.approx([-0.6, 0.0])
    assert variables[1].numpy().tolist() == pytest.approx([-0.8])


def test_weight_decay_exclusion_by_variable():
    variables = _variables()
    optimizer = SGD(learning_rate=0.5, weight_decay=0.2)
    optimizer.exclude_from_weight_decay(var_list=[variables[0]])
    variables[1].assign(np.ones(3, "float32"))
    optimizer.apply([torch.zeros(2, 3), torch.zeros(3)], variables)
    assert variables[0].numpy().tolist() == np.ones((2, 3)).tolist()
    assert variables[1].numpy() == pytest.approx(np.full(3, 0.9))


def test_accepts_arrays_and_other_float_dtypes_as_gradients():
    variable = kiln.Variable([1.0, 1.0], name="w")
    optimizer = SGD(learning_rate=1.0)
    optimizer.apply([np.array([0.5, 0.25])], [variable])
    optimizer.apply([torch.tensor([0.5, 0.25], dtype=torch.float64)], [variable])
    assert variable.numpy().tolist() == [0.0, 0.5]
    assert variable.dtype == "float32"


def test_rejects_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"has shape \(3,\), but the variable has shape \(2,\)"):
        SGD().apply([torch.ones(3)], [kiln.Variable([1.0, 1.0], name="w")])


def test_constraint_is_applied_after_the_update():
    variable = kiln.Variable([1.0, -1.0], name="w")
    variable.constraint = lambda v: torch.clamp(v.value, min=0.0)
    SGD(learning_rate=1.0).apply([torch.tensor([0.5, 0.5])], [variable])
    assert variable.numpy().tolist() == [0.5, 0.0]


def test_overwrite_with_gradient_variables_take_the_gradient():
    scale = kiln.Variable([1.0], name="scale")
    scale.overwrite_with_gradient = True
    weight = kiln.Variable([1.0], name="w")
    optimizer = Adam()
    optimizer.apply([torch.tensor([7.0]), torch.tensor([1.0])], [scale, weight])
    assert scale.numpy().tolist() == [7.0]
    assert [v.name for v in optimizer.variables] == ["iteration", "learning_rate",
                                                     "w_momentum", "w_velocity"]


def test_trains_a_torch_model_with_autograd():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    kernel = kiln.Variable(np.zeros((3, 1), "float32"), name="kernel")
    optimizer = Adam(learning_rate=0.1)
    for _ in range(200):
        loss = ((x @ kernel.value - y) ** 2).mean()
        kernel.value.grad = None
        loss.backward()
        optimizer.apply_gradients([(kernel.value.grad, kernel)])
    assert kernel.numpy().ravel() == pytest.approx([1.0, -2.0, 0.5], abs=1e-2)
    assert int(optimizer.iterations) == 200


# -- apply() contract -------------------------------------------------------------------
def test_apply_without_variables_needs_a_built_optimizer():
    with pytest.raises(ValueError, match="is not built"):
        SGD().apply([torch.ones(1)])


def test_apply_after_build_uses_the_built_variables():
    variables = _variables()
    optimizer = SGD(learning_rate=1.0)
    optimizer.build(variables)
    optimizer.apply([torch.ones(2, 3), torch.ones(3)])
    assert variables[1].numpy().tolist() == [-1.0, -1.0, -1.0]
    with pytest.raises(ValueError, match="received 1 gradients for 2 variables"):
        optimizer.apply([torch.ones(2, 3)])


def test_apply_rejects_unknown_variables():
    optimizer = SGD()
    optimizer.apply([torch.ones(1)], [kiln.Variable([1.0], name="a")])
    with pytest.raises(ValueError, match="does not know 'b'"):
        optimizer.apply([torch.ones(1)], [kiln.Variable([1.0], name="b")])


def test_apply_gradients_returns_the_iteration_variable():
    optimizer = SGD()
    result = optimizer.apply_gradients([(torch.ones(1), kiln.Variable([1.0], name="a"))])
    assert result is optimizer.iterations and int(result) == 1


def test_scale_loss():
    assert Adam(loss_scale_factor=4.0).scale_loss(2.0) == 8.0
    assert Adam().scale_loss(2.0) == 2.0


@pytest.mark.parametrize("kwargs, match", [
    ({"clipnorm": 1.0, "clipvalue": 1.0}, "Only one of"),
    ({"use_ema": True, "ema_momentum": 1.5}, "ema_momentum"),
    ({"use_ema": True, "ema_overwrite_frequency": 0.5}, "ema_overwrite_frequency"),
    ({"gradient_accumulation_steps": 1}, "gradient_accumulation_steps"),
    ({"momentum_typo": 0.9}, "momentum_typo"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


def test_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        Adam(decay=0.1)


# -- saving state -------------------------------------------------------------------------
def test_save_and_load_own_variables_round_trip():
    variables = _variables()
    source = Adam(learning_rate=0.05)
    source.apply([torch.ones(2, 3), torch.ones(3)], variables)
    store = {}
    source.save_own_variables(store)
    assert list(store) == [str(i) for i in range(6)]
    assert store["0"].dtype == np.int32
    target = Adam()
    target.build(variables)
    target.load_own_variables(store)
    for a, b in zip(source.variables, target.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_own_variables_warns_on_a_count_mismatch():
    target = Adam()
    with pytest.warns(UserWarning, match="has 2 variables whereas the saved optimizer has 6"):
        target.load_own_variables({str(i): np.zeros(()) for i in range(6)})


def test_state_loads_from_keras_and_continues_identically():
    # Keras's optimizer.variables, loaded by index, give kiln the same trajectory.
    (keras_vars, keras_opt), _ = oracle.run_both(Adam, "Adam", {"amsgrad": True}, steps=3)
    variables = [kiln.Variable(np.asarray(v.numpy()), name=f"w{i}")
                 for i, v in enumerate(keras_vars)]
    optimizer = Adam(amsgrad=True, name="opt")
    optimizer.build(variables)
    optimizer.set_weights([np.asarray(v.numpy()) for v in keras_opt.variables])
    grads = [torch.full(tuple(v.shape), 0.3) for v in variables]
    keras_opt.apply(grads, keras_vars)
    optimizer.apply(grads, variables)
    for k, m in zip(keras_vars, variables):
        np.testing.assert_allclose(m.numpy(), np.asarray(k.numpy()), rtol=1e-6, atol=1e-6)
    assert int(optimizer.iterations) == 4


def test_set_weights_reports_every_shape_problem():
    optimizer = SGD(momentum=0.9)
    optimizer.build(_variables())
    weights = [np.zeros(()), np.zeros(()), np.zeros((3, 2)), np.zeros((4,))]
    with pytest.raises(ValueError, match=r"\(2 problems\)"):
        optimizer.set_weights(weights)
    with pytest.raises(ValueError, match="has not been built"):
        SGD().set_weights([])


# -- config ---------------------------------------------------------------------------------
def test_config_with_schedule_matches_keras():
    keras = oracle.keras_module()
    kwargs = {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}
    expected = keras.optimizers.Adam(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(**kwargs), name="o").get_config()
    config = Adam(learning_rate=schedules.ExponentialDecay(**kwargs), name="o").get_config()
    assert config == expected
    restored = Adam.from_config(config)
    assert isinstance(restored._learning_rate, schedules.ExponentialDecay)
    assert restored.get_config() == config


def test_from_config_does_not_mutate_its_argument():
    config = Adam(learning_rate=schedules.PolynomialDecay(0.1, 10)).get_config()
    snapshot = repr(config)
    Adam.from_config(config)
    assert repr(config) == snapshot


# -- custom optimizers ----------------------------------------------------------------------
class SignDescent(Optimizer):
    """A Keras-style custom optimizer: per-variable `update_step` and a tracked scalar."""

    def __init__(self, learning_rate=0.1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.steps_taken = kiln.Variable(0.0, trainable=False, name="steps_taken")
        self._traces = self.add_optimizer_variables(var_list, "trace", initializer="ones")

    def update_step(self, gradient, variable, learning_rate):
        trace = self._traces[self._get_variable_index(variable)]
        self.assign_add(trace, gradient)
        self.assign_sub(variable, learning_rate * torch.sign(gradient))
        self.steps_taken.assign_add(1.0)


def test_custom_optimizer_with_update_step():
    variables = _variables()
    optimizer = SignDescent(name="sign")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.apply([torch.full((2, 3), -2.0), torch.full((3,), 3.0)], variables)
    assert variables[0].numpy() == pytest.approx(np.full((2, 3), 1.1))
    assert variables[1].numpy() == pytest.approx(np.full(3, -0.1))
    assert [v.name for v in optimizer.variables] == [
        "iteration", "learning_rate", "steps_taken", "kernel_trace", "bias_trace"]
    assert float(optimizer.steps_taken) == 2.0
    assert optimizer.variables[3].numpy() == pytest.approx(np.full((2, 3), -1.0))


def test_base_class_without_update_step_explains_what_to_override():
    with pytest.raises(NotImplementedError, match="update_step"):
        Optimizer(learning_rate=0.1).apply([torch.ones(1)], [kiln.Variable([1.0], name="w")])
