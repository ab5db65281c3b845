"""`EinsumDense`: a dense layer whose contraction is any einsum `"<input>,<kernel>-><output>"`.

The kernel and bias shapes follow from the equation, the input shape and the partial
`output_shape` exactly as in Keras 3 (they are part of the weight-file format).
"""

import re

import torch

from kiln import activations, constraints, initializers, regularizers
from kiln.activations.activations import activate_new_tensor
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

_FORMS = (
    # (pattern on the equation with "..." replaced by "0", ellipsis on the left?)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), False),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), True),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), False),
)


def analyze_equation(equation, bias_axes, input_shape, output_shape):
    """Returns `(kernel_shape, bias_shape, full_output_shape, input_axes, output_axes)`.

    `input_axes` / `output_axes` are the kernel axes contracted with the input and the
    kernel axes that appear in the output (used for fan computation).

    Example:
        >>> analyze_equation("ab,bc->ac", "c", (None, 3), (4,))
        ([3, 4], [4], [None, 4], [0], [1])
    """
    replaced = equation.replace("...", "0")
    for pattern, left_elided in _FORMS:
        match = pattern.fullmatch(replaced) or pattern.match(replaced)
        if match:
            break
    else:
        raise ValueError(
            f"Invalid einsum equation '{equation}'. Equations must be in the form "
            "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
        )
    in_spec, kernel_spec, out_spec = match.groups()
    input_shape = list(input_shape)
    elided = len(input_shape) - len(in_spec)
    out_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out_shape.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            out_shape.insert(1, input_shape[i])
    elif elided > 0:
        out_shape.extend(input_shape[len(input_shape) - elided:])

    if left_elided:
        in_pos = {d: i + elided - len(input_shape) for i, d in enumerate(in_spec)}
        out_pos = {d: i + elided for i, d in enumerate(out_spec)}
    else:
        in_pos = {d: i for i, d in enumerate(in_spec)}
        out_pos = {d: i for i, d in enumerate(out_spec)}

    for d in in_spec:
        if d in out_pos:
            want, got = out_shape[out_pos[d]], input_shape[in_pos[d]]
            if want is not None and want != got:
                raise ValueError(
                    f"Input shape and output shape do not match at shared dimension '{d}'. "
                    f"Input shape is {got}, and output shape is {want}."
                )
    for d in out_spec:
        if d not in in_spec and d not in kernel_spec:
            raise ValueError(
                f"Dimension '{d}' was specified in the output '{out_spec}' but has no "
                f"corresponding dim in the input spec '{in_spec}' or weight spec '{kernel_spec}'"
            )

    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(kernel_spec):
        if d in out_pos:
            kernel_shape.append(out_shape[out_pos[d]])
            output_axes.append(i)
        elif d in in_pos:
            kernel_shape.append(input_shape[in_pos[d]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{d}' did not have a match in either the input spec "
                f"'{in_spec}' or the output spec '{out_spec}'. For this layer, the weight "
                "must be fully specified."
            )

    bias_shape = None
    if bias_axes is not None:
        offset = elided if left_elided else 0
        sizes = {d: out_shape[i + offset] for i, d in enumerate(out_spec)}
        for d in bias_axes:
            if d not in out_spec:
                raise ValueError(
                    f"Bias dimension '{d}' was requested, but is not part of the output "
                    f"spec '{out_spec}'"
                )
        first = min(out_spec.find(d) for d in bias_axes)
        bias_shape = [sizes[d] if d in bias_axes else 1 for d in out_spec[first:]]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return kernel_shape, bias_shape, out_shape, input_axes, output_axes


def matmul_plan(equation, bias_axes, kernel_shape):
    """`(batch_rank, input_rank, contracted, out_shape)` when the einsum is one matrix product, else None.

    That holds when the input is `<batch><contracted>`, the kernel `<contracted><out>` and the
    output `<batch><out>` (each letter in its place, no ellipsis), and the bias, if any,
    covers every `<out>` letter. The layer then multiplies the input flattened to
    `(-1, contracted)` by the kernel flattened to `(contracted, prod(out))`, which skips
    einsum's parsing and planning on every call.

    Example:
        >>> matmul_plan("abc,cde->abde", "de", [16, 4, 8])
        (2, 3, 16, (4, 8))
    """
    match = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", equation)
    if match is None:
        return None
    in_spec, kernel_spec, out_spec = match.groups()
    out_letters = [d for d in kernel_spec if d in out_spec]
    contracted = [d for d in kernel_spec if d not in out_spec]
    batch = in_spec[:len(in_spec) - len(contracted)]
    if (not contracted or not out_letters
            or kernel_spec != "".join(contracted + out_letters)
            or in_spec != batch + "".join(contracted)
            or out_spec != batch + "".join(out_letters)
            or set(batch) & set(kernel_spec)):
        return None
    if bias_axes is not None and sorted(bias_axes) != sorted(out_letters):
        return None
    size = 1
    for dim in kernel_shape[:len(contracted)]:
        size *= dim
    return len(batch), len(in_spec), size, tuple(kernel_shape[len(contracted):])


class EinsumDense(Layer):
    """A dense layer computing `activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: `"<input>,<kernel>-><output>"`, optionally with a leading or trailing
            `...` on the input and output.
        output_shape: The output shape without the batch dimension; `None` entries are
            taken from the input.
        activation: Activation applied to the result.
        bias_axes: Output letters that get a bias (e.g. `"de"`), or None for no bias.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: As in `Dense`.

    Example:
        >>> layer = kiln.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 8),
        ...                                 bias_axes="de")
        >>> layer(np.ones((3, 5, 16))).shape
        torch.Size([3, 5, 2, 8])
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if quantization_config is not None or gptq_unpacked_column_size:
            raise NotImplementedError(
                "kiln does not support quantized EinsumDense layers. Received: "
                f"quantization_config={quantization_config!r}. Save the model unquantized."
            )
        self.equation = equation
        if isinstance(output_shape, int):
            self.partial_output_shape = (output_shape,)
        else:
            self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = None
        self._matmul_plan = None

    def _kernel_initializer_with_axes(self, input_axes, output_axes):
        """Variance-scaling initializers get the fan axes from the equation (as Keras)."""
        init = self.kernel_initializer
        if not isinstance(init, initializers.VarianceScaling):
            return init
        if init.input_axes is not None and init.output_axes is not None:
            return init
        config = init.get_config()
        config.update(seed=init.seed, input_axes=input_axes, output_axes=output_axes)
        return type(init).from_config(config)

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze_equation(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        self._kernel = self.add_weight(
            name="kernel", shape=tuple(kernel_shape),
            initializer=self._kernel_initializer_with_axes(input_axes, output_axes),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            dtype=self.dtype, trainable=True)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                dtype=self.dtype, trainable=True)
        self._matmul_plan = matmul_plan(self.equation, self.bias_axes, kernel_shape)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def kernel(self):
        """The kernel variable, or with LoRA the merged kernel tensor."""
        if not self.built:
            raise AttributeError(
                f"EinsumDense layer '{self.name}' is not built yet, so it has no `kernel`. "
                "Call it on data or call `build()` first."
            )
        if not self.lora_enabled:
            return self._kernel
        delta = torch.matmul(self.lora_kernel_a.value, self.lora_kernel_b.value)
        kernel = self._kernel.value + (self.lora_alpha / self.lora_rank) * delta
        return kernel.to(self._kernel.value.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(analyze_equation(self.equation, self.bias_axes, input_shape,
                                      self.partial_output_shape)[2])

    def call(self, inputs, training=None):
        kernel = self._kernel.value if not self.lora_enabled else self.kernel
        plan = self._matmul_plan
        if plan is not None and inputs.dim() == plan[1] and not inputs.is_meta:
            # Symbolic (meta) calls take einsum: addmm's meta kernel imports torch._dynamo.
            batch_rank, _, contracted, out_shape = plan
            flat = inputs.reshape(-1, contracted)
            kernel = kernel.reshape(contracted, -1)
            if self.bias is not None:
                x = torch.addmm(self.bias.value.reshape(-1), flat, kernel)
            else:
                x = torch.mm(flat, kernel)
            x = x.view(inputs.shape[:batch_rank] + out_shape)
        else:
            x = torch.einsum(self.equation, inputs, kernel)
            if self.bias is not None:
                x = x + self.bias.value
        return activate_new_tensor(self.activation, x)

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freezes the kernel and learns a low-rank update `a @ b` instead (LoRA).

        Example:
            >>> layer = kiln.layers.EinsumDense("ab,bc->ac", 4); layer.build((None, 3))
            >>> layer.enable_lora(2)
        """
        if self.kernel_constraint:
            raise ValueError(
                f"EinsumDense layer '{self.name}': LoRA cannot be combined with a "
                "`kernel_constraint`. Remove the constraint to enable LoRA."
            )
        if not self.built:
            raise ValueError(
                f"EinsumDense layer '{self.name}' must be built before `enable_lora()`."
            )
        if self.lora_enabled:
            raise ValueError(
                f"LoRA is already enabled on EinsumDense layer '{self.name}'; it can only be "
                "enabled once."
            )
        shape = self._kernel.shape
        self.lora_kernel_a = self.add_weight(
            name="lora_kernel_a", shape=shape[:-1] + (rank,),
            initializer=initializers.get(a_initializer), dtype="float32",
            regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight(
            name="lora_kernel_b", shape=(rank, shape[-1]),
            initializer=initializers.get(b_initializer), dtype="float32",
            regularizer=self.kernel_regularizer)
        self._kernel.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    # Files hold the (LoRA-merged) kernel and the bias, as Keras writes them.
    def save_own_variables(self, store):
        if not self.built:
            return
        kernel = self.kernel
        store["0"] = kernel.detach() if isinstance(kernel, torch.Tensor) else kernel.value
        if self.bias is not None:
            store["1"] = self.bias.value

    def load_own_variables(self, store):
        if not self.lora_enabled:
            return super().load_own_variables(store)
        expected = 1 + (self.bias is not None)
        if len(store) != expected:
            raise ValueError(
                f"EinsumDense layer '{self.name}' (LoRA enabled) expected {expected} variables "
                f"(merged kernel and bias), but received {len(store)} variables during loading."
            )
        self._kernel.assign(store["0"])
        if self.bias is not None:
            self.bias.assign(store["1"])
        self.lora_kernel_a.assign(torch.zeros(self.lora_kernel_a.shape))
        self.lora_kernel_b.assign(torch.zeros(self.lora_kernel_b.shape))

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = {
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": serialize_keras_object(self.quantization_config),
        }
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("quantization_config") is not None:
            from kiln.saving import deserialize_keras_object

            config["quantization_config"] = deserialize_keras_object(
                config["quantization_config"])
        return super().from_config(config)
