"""`kiln.optimizers.Optimizer`: the base class every kiln optimizer derives from.

An optimizer owns an ordered list of `kiln.Variable`s (`optimizer.variables`). Weight
files store that state by index, so the order follows Keras 3 exactly:

1. `iteration` (int32 scalar, as Keras keeps it in memory on the torch backend),
2. `learning_rate` (float32 scalar), absent when the learning rate is a schedule/callable,
3. one `average` per trainable variable if `use_ema`, then one `gradient_accumulator`
   per variable if `gradient_accumulation_steps`,
4. the algorithm's own slots, created by the subclass's `build()`.

Updates run under `torch.no_grad()` directly on each variable's `.value` parameter.
Built-in optimizers override `_parallel_update_step()` with multi-tensor
(`torch._foreach_*`) kernels; a custom optimizer may instead override the Keras-style
per-variable `update_step(gradient, variable, learning_rate)`.
"""

import warnings

import torch

from kiln.core import write_guard
from kiln.core.variable import Variable
from kiln.optimizers import _averaging, _gradients, _state, _validation, _weight_decay
from kiln.optimizers.schedules.learning_rate_schedule import LearningRateSchedule


class Optimizer:
    """Base class for optimizers.

    Args:
        learning_rate: A float, a `kiln.optimizers.schedules.LearningRateSchedule`, or a
            callable taking no arguments and returning the current learning rate.
        weight_decay: If set, every step first multiplies each variable by
            `1 - weight_decay * learning_rate` (decoupled weight decay).
        clipnorm: If set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: If set, each gradient element is clamped to `[-clipvalue, clipvalue]`.
        global_clipnorm: If set, all gradients are rescaled together so that their joint
            L2 norm is at most this. At most one of the three clipping options may be set.
        use_ema: Keep an exponential moving average of the trained variables.
        ema_momentum: Momentum of that average, in `[0, 1]`.
        ema_overwrite_frequency: If set, every this many steps the variables are
            overwritten with their moving average. Otherwise call
            `finalize_variable_values()` at the end of training.
        loss_scale_factor: If set, `scale_loss()` multiplies the loss by it and `apply()`
            divides the gradients by it.
        gradient_accumulation_steps: If set (an int >= 2), gradients are summed and the
            variables are updated only every this many calls, with the mean gradient.
        name: The optimizer's name; defaults to the snake-cased class name ("adam",
            "adam_1", ...) as in Keras.

    Example:
        >>> var = kiln.Variable([1.0, 2.0])
        >>> opt = kiln.optimizers.SGD(learning_rate=0.1)
        >>> opt.apply([torch.tensor([1.0, 1.0])], [var])
        >>> var.numpy()
        array([0.9, 1.9], dtype=float32)
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=2)
        if kwargs:
            raise ValueError(
                f"{type(self).__name__} received unknown argument(s): {sorted(kwargs)}. "
                "Check the spelling against the optimizer's documented arguments."
            )
        _validation.check_arguments(clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                                    ema_overwrite_frequency, gradient_accumulation_steps)
        self._variables = []
        self._tracked_ids = set()
        self.name = name if name is not None else _default_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._weight_decay_exclusions = _weight_decay.Exclusions()
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._iterations = self._new_variable(torch.zeros((), dtype=torch.int32), "iteration")
        self._learning_rate = self._initial_learning_rate(learning_rate)

    # -- variables ---------------------------------------------------------------
    def __setattr__(self, name, value):
        # Like Keras, a Variable stored as an attribute is optimizer state and is tracked
        # (saved), unless it is one of the model variables being optimized.
        if (isinstance(value, Variable) and "_tracked_ids" in self.__dict__
                and id(value) not in self.__dict__.get("_trainable_variables_indices", {})):
            self._track_variable(value)
        object.__setattr__(self, name, value)

    def _track_variable(self, variable):
        if id(variable) not in self._tracked_ids:
            self._tracked_ids.add(id(variable))
            self._variables.append(variable)

    def _untrack_variable(self, variable):
        self._tracked_ids.discard(id(variable))
        self._variables = [v for v in self._variables if v is not variable]

    def _new_variable(self, tensor, name):
        if "_tracked_ids" not in self.__dict__:
            raise RuntimeError(
                f"In optimizer '{type(self).__name__}', `super().__init__()` must be called "
                "before creating variables. Add it as the first statement of `__init__()`."
            )
        variable = Variable(tensor, trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        self._track_variable(variable)
        return variable

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     name=None, device=None):
        """Creates and tracks a non-trainable optimizer variable.

        Args:
            shape: The variable's shape.
            initializer: `"zeros"`, `"ones"`, a number (constant fill) or a callable
                `fn(shape, dtype)` returning an array.
            dtype: A dtype name; defaults to `"float32"`.
            aggregation: Accepted for Keras compatibility; unused.
            name: The variable's name; its path is `"<optimizer name>/<name>"`.

        Example:
            >>> slot = optimizer.add_variable((3,), initializer=0.1, name="accumulator")
        """
        tensor = _state.initial_value(shape, initializer, dtype, device)
        return self._new_variable(tensor, name or "variable")

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Creates a slot shaped like `reference_variable`, named `<its path>_<name>`.

        Example:
            >>> m = optimizer.add_variable_from_reference(dense.kernel, "momentum")
            >>> m.name   # for a kernel at path "dense/kernel"
            'dense_kernel_momentum'
        """
        ref_name = getattr(reference_variable, "path", None) or str(reference_variable.name)
        slot_name = f"{ref_name.replace('/', '_').replace(':', '_')}_{name or 'var'}"
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype, name=slot_name,
                                 device=reference_variable.value.device)

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """Creates one slot per variable for each name in `name`, interleaved per variable.

        With `name=["momentum", "velocity"]` the creation (and so the saved) order is
        m0, v0, m1, v1, ... Variables flagged `overwrite_with_gradient` get `None`.
        Returns one list for a single name, else a tuple of lists.

        Example:
            >>> m, v = optimizer.add_optimizer_variables(variables, ["momentum", "velocity"])
        """
        names = [name] if isinstance(name, str) else list(name)
        inits = (list(initializer) if isinstance(initializer, (list, tuple))
                 else [initializer] * len(names))
        if len(inits) != len(names):
            raise ValueError(
                f"add_optimizer_variables got {len(names)} names but {len(inits)} "
                f"initializers. Received: name={name!r}, initializer={initializer!r}."
            )
        slots = tuple([] for _ in names)
        for variable in trainable_variables:
            skip = getattr(variable, "overwrite_with_gradient", False)
            for i, (slot_name, init) in enumerate(zip(names, inits)):
                slots[i].append(None if skip else self.add_variable_from_reference(
                    variable, name=slot_name, initializer=init))
        return slots[0] if isinstance(name, str) else slots

    def build(self, var_list):
        """Creates the optimizer's state for `var_list` (the model's trainable variables).

        Subclasses call `super().build(var_list)` first, then create their slots.
        """
        var_list = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, name="gradient_accumulator")
                for v in var_list
            ]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self._trainable_variables = var_list[:]
        self.built = True

    @property
    def variables(self):
        """All optimizer state, in the order it is saved."""
        return self._variables[:]

    @property
    def iterations(self):
        """The number of update steps taken (counting accumulated steps as one)."""
        if self.gradient_accumulation_steps:
            return self._iterations.value // self.gradient_accumulation_steps
        return self._iterations

    def _get_variable_index(self, variable):
        return self._trainable_variables_indices[id(variable)]

    def _slot_values(self, slots, variables):
        """The `.value` tensors of `slots` matching `variables`, in that order."""
        index = self._trainable_variables_indices
        return [slots[index[id(v)]].value for v in variables]

    # -- learning rate -------------------------------------------------------------
    def _initial_learning_rate(self, learning_rate):
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        value = _validation.as_float(learning_rate, "learning_rate")
        return self._new_variable(torch.tensor(value, dtype=torch.float32), "learning_rate")

    @property
    def learning_rate(self):
        """The current learning rate.

        A float32 `kiln.Variable` when the optimizer was given a number (assigning a
        number to this property writes into that variable), otherwise the value of the
        schedule at the current iteration, as a 0-d tensor.
        """
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr
        if isinstance(lr, LearningRateSchedule):
            return torch.as_tensor(lr(self._iterations))
        return torch.as_tensor(lr())

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        previous = self._learning_rate
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
            if isinstance(previous, Variable):
                self._untrack_variable(previous)
            return
        if not isinstance(previous, Variable):
            raise TypeError(
                f"Optimizer '{self.name}' was created with a learning-rate schedule or "
                "callable, so its learning rate cannot be set to a number (that would add "
                "a variable and change the saved state layout). Create the optimizer with "
                f"a float `learning_rate` instead. Received: learning_rate={learning_rate!r}"
            )
        previous.assign(_validation.as_float(learning_rate, "learning_rate"))

    # -- applying gradients ----------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies `(gradient, variable)` pairs; returns the iteration variable.

        Example:
            >>> optimizer.apply_gradients(zip(grads, model.trainable_variables))
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Updates `trainable_variables` (default: those built with) using `grads`.

        `grads` may hold torch tensors, arrays or `None` (that variable is skipped).
        The first call builds the optimizer if needed.

        Example:
            >>> loss.backward()
            >>> optimizer.apply([v.value.grad for v in variables], variables)
        """
        grads = list(grads)
        if not grads:
            return
        write_guard.before_write()  # an async checkpoint may still be copying the weights
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"Optimizer '{self.name}' is not built, so `apply(grads)` does not know "
                    "which variables the gradients belong to. Pass `trainable_variables` or "
                    "call `optimizer.build(trainable_variables)` first."
                )
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
            self._check_variables_are_known(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"Optimizer '{self.name}' received {len(grads)} gradients for "
                f"{len(trainable_variables)} variables. Pass exactly one gradient (or None) "
                "per variable."
            )
        with torch.no_grad():
            grads, variables = _gradients.drop_missing(self.name, grads, trainable_variables)
            grads = [_gradients.as_gradient(g, v) for g, v in zip(grads, variables)]
            if any(getattr(v, "overwrite_with_gradient", False) for v in variables):
                accumulator_of = self._accumulator_of if self.gradient_accumulation_steps else None
                grads, variables = _gradients.overwrite_directly(
                    grads, variables, accumulator_of, self._is_accumulation_boundary())
            if grads:
                if self.loss_scale_factor is not None:
                    grads = torch._foreach_div(grads, self.loss_scale_factor)
                self._apply_prepared_gradients(grads, variables)
                for variable in variables:
                    constraint = getattr(variable, "constraint", None)
                    if constraint is not None:
                        variable.assign(constraint(variable))
            self._iterations.value.add_(1)

    def _apply_prepared_gradients(self, grads, variables):
        steps = self.gradient_accumulation_steps
        if steps:
            accumulators = self._slot_values(self._accumulated_gradients, variables)
            if self._is_accumulation_boundary():
                grads = torch._foreach_add(grads, accumulators)
                torch._foreach_div_(grads, steps)
                self._clip_decay_and_update(grads, variables)
                for acc in self._accumulated_gradients:
                    acc.value.zero_()
            else:
                torch._foreach_add_(accumulators, grads)
        else:
            self._clip_decay_and_update(grads, variables)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            frequency = self.ema_overwrite_frequency
            if frequency and (int(self.iterations) + 1) % frequency == 0:
                self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _is_accumulation_boundary(self):
        """True when this call completes a group of accumulated steps (and so updates)."""
        steps = self.gradient_accumulation_steps
        return bool(steps) and (int(self._iterations.value) + 1) % steps == 0

    def _accumulator_of(self, variable):
        return self._accumulated_gradients[self._get_variable_index(variable)]

    def _clip_decay_and_update(self, grads, variables):
        grads = self._clip_gradients(grads)
        learning_rate = float(self.learning_rate)
        self._apply_weight_decay(variables, learning_rate)
        self._parallel_update_step(grads, variables, learning_rate)

    def _parallel_update_step(self, grads, variables, learning_rate):
        """Updates all `variables` at once. Built-in optimizers override this."""
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Updates one variable in place. Override this (or `_parallel_update_step`)."""
        raise NotImplementedError(
            f"Optimizer '{type(self).__name__}' must override `update_step(gradient, "
            "variable, learning_rate)` or `_parallel_update_step(grads, variables, "
            "learning_rate)`."
        )

    def _local_step(self):
        """The 1-based index of the update being computed (bias corrections use it)."""
        return int(self.iterations) + 1

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)

    def _check_variables_are_known(self, variables):
        for v in variables:
            if id(v) not in self._trainable_variables_indices:
                raise ValueError(
                    f"Optimizer '{self.name}' was built for other variables and does not know "
                    f"'{getattr(v, 'path', v)}'. An optimizer serves one fixed set of "
                    "variables; create a new optimizer for a new set."
                )

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return _gradients.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _gradients.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return _gradients.clip_by_value(grads, self.clipvalue)
        return grads

    def scale_loss(self, loss):
        """Multiplies `loss` by `loss_scale_factor` (if set) before differentiation."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # -- weight decay ------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables from weight decay.

        Args:
            var_list: Variables to exempt.
            var_names: Substrings (regular expressions); a variable whose `name` contains
                any of them is exempt, e.g. `["bias"]`.

        Example:
            >>> opt = kiln.optimizers.AdamW()
            >>> opt.exclude_from_weight_decay(var_names=["bias", "gamma"])
        """
        self._weight_decay_exclusions = _weight_decay.Exclusions(var_list, var_names)

    def _use_weight_decay(self, variable):
        return self._weight_decay_exclusions.applies_to(variable)

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay is None:
            return
        values = [v.value for v in variables if self._use_weight_decay(v)]
        if values:
            torch._foreach_mul_(values, 1.0 - self.weight_decay * learning_rate)

    # -- moving average (EMA) ------------------------------------------------------------
    def _update_model_variables_moving_average(self, trainable_variables):
        momentum = self.ema_momentum if int(self.iterations) != 0 else 0.0
        _averaging.update_averages(
            trainable_variables, self._model_variables_moving_average, momentum)

    def _overwrite_model_variables_with_average_value(self, trainable_variables):
        _averaging.overwrite_with_averages(
            self.name, trainable_variables, self._model_variables_moving_average)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, overwrites `var_list` with their moving averages (end of training)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(list(var_list))

    # -- state and config --------------------------------------------------------------
    def set_weights(self, weights):
        """Assigns arrays to `optimizer.variables`, in order. The optimizer must be built."""
        _state.set_weights(self, weights)

    def save_own_variables(self, store):
        """Writes every variable to `store` under keys "0", "1", ... in saved order."""
        _state.save_variables(self, store)

    def load_own_variables(self, store):
        """Reads variables written by `save_own_variables` (warns and skips on a count mismatch)."""
        _state.load_variables(self, store)

    def get_config(self):
        """Returns the constructor arguments, with Keras 3.15's keys and value types."""
        lr = self._learning_rate
        if isinstance(lr, Variable):
            learning_rate = float(lr.numpy())
        else:
            from kiln.saving import serialize_keras_object

            learning_rate = serialize_keras_object(lr)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates an optimizer from `get_config()` output (a schedule dict is deserialized)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from kiln.saving import deserialize_keras_object

            config["learning_rate"] = deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _default_name(class_name):
    # Keras's rule: "adam", "adam_1", ...; "rm_sprop" for RMSprop, "adam_w" for AdamW.
    # Imported here so that `import kiln.optimizers` does not load the saving package.
    from kiln.utils import naming

    return naming.auto_name(naming.to_snake_case(class_name))
