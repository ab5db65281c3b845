"""`MultiHeadAttention` (Vaswani et al., 2017), with Keras 3's sublayers and weights.

The projections are `EinsumDense` sublayers as in Keras: attributes `query_dense`,
`key_dense`, `value_dense`, `output_dense` (also reachable as Keras's `_query_dense`, ...;
the public names are their weight-file paths, as in Keras-written files), with the layer
names `query`, `key`, `value`, `attention_output`, so `layer.weights` has Keras's order
and shapes:
query kernel `(dim, heads, key_dim)` and bias `(heads, key_dim)`, ..., output kernel
`(heads, value_dim, out_dim)` and bias `(out_dim,)`.

Attention runs on `torch.nn.functional.scaled_dot_product_attention` when Keras does
(rank-3 inputs, no dropout, scores not requested), and otherwise as explicit einsums with
a masked softmax, again as Keras does, so outputs agree numerically.
"""

import math
import string

import torch

from kiln import constraints, initializers, regularizers
from kiln.layers.activations.softmax import Softmax
from kiln.layers.core.einsum_dense import EinsumDense
from kiln.layers.layer import Layer
from kiln.layers.regularization.dropout import Dropout

_SDPA_MASK_VALUE = -0.7 * 3.38953e38  # what Keras adds at masked positions in fused attention


def _letters(n, start=0):
    return string.ascii_lowercase[start:start + n]


def projection_equation(free_dims, bound_dims, output_dims):
    """`(equation, bias_axes, output_rank)` of a projection: `free` axes pass through,
    `bound` axes are contracted, `output` axes are created.

    Example:
        >>> projection_equation(2, 1, 2)
        ('abc,cde->abde', 'de', 4)
    """
    free = _letters(free_dims)
    bound = _letters(bound_dims, free_dims)
    out = _letters(output_dims, free_dims + bound_dims)
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank, attn_axes):
    """`(dot_product_equation, combine_equation, scores_rank)` for projected tensors of
    `rank` (batch, attention axes..., heads, channels).

    Example:
        >>> attention_equations(4, (1,))
        ('aecd,abcd->acbe', 'acbe,aecd->abcd', 4)
    """
    target = _letters(rank)
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += string.ascii_lowercase[offset]
            offset += 1
    product = ("".join(target[i] for i in batch_dims) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return (f"{source},{target}->{product}", f"{product},{source}->{target}", len(product))


def _partial_shape(rank, known_last_dims):
    return [None] * (rank - len(known_last_dims)) + list(known_last_dims)


def _shape(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        import numpy as np

        shape = np.shape(x)
    return tuple(None if d is None else int(d) for d in shape)


def _flash_attention_default():
    from kiln import config

    enabled = getattr(config, "is_flash_attention_enabled", None)
    return enabled() if callable(enabled) else None


class MultiHeadAttention(Layer):
    """Multi-head attention of `query` over `value` (and `key`, default `value`).

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value (default `key_dim`).
        dropout: Dropout rate on the attention probabilities.
        use_bias: Whether the projections have biases.
        output_shape: Output size(s) without the batch and attention axes (default: the
            query's last dimension).
        attention_axes: Axes attention runs over (default: all but batch, heads, channels).
        sliding_window: If set, a query position only attends to positions closer than
            this many steps.
        flash_attention: Prefer torch's fused kernels; incompatible with `dropout`.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: For the projections.
        use_gate: Add a sigmoid-gated projection of the query (Keras 3.13+).
        seed: Seed of the attention dropout.

    Call arguments: `query (B, T, dim)`, `value (B, S, dim)`, `key=None`, boolean masks
    `query_mask (B, T)`, `value_mask (B, S)`, `key_mask (B, S)`, `attention_mask (B, T, S)`,
    `return_attention_scores`, `training`, `use_causal_mask`.

    Example:
        >>> layer = kiln.layers.MultiHeadAttention(num_heads=2, key_dim=2)
        >>> y = layer(np.random.rand(3, 8, 16), np.random.rand(3, 4, 16))
        >>> y.shape, len(layer.weights)
        (torch.Size([3, 8, 16]), 8)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"MultiHeadAttention expects `{arg}` to be a positive integer. "
                    f"Received: {arg}={value!r}"
                )
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError(
                "MultiHeadAttention expects `value_dim` to be a positive integer or None. "
                f"Received: value_dim={value_dim!r}"
            )
        # The activity regularizer goes to the projections, not to this layer's output.
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(
                    f"Invalid `output_shape`: {output_shape!r}. When specified, it should be "
                    "an int, a tuple or a list."
                ) from None
        self._output_shape = output_shape
        self._flash_attention = flash_attention or _flash_attention_default()
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                "`attention_axes` must be an int, list, or tuple. "
                f"Received: attention_axes={attention_axes!r}"
            )
        self._attention_axes = attention_axes
        if sliding_window is not None and (
                not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(
                "`sliding_window` must be None or a positive integer. "
                f"Received: sliding_window={sliding_window!r}"
            )
        self._sliding_window = sliding_window
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        if self._flash_attention and self._dropout > 0.0:
            raise ValueError(
                "Dropout is not supported when flash attention is enabled. Set dropout=0.0 "
                "to use flash attention."
            )

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    # The projections live under Keras's public names (`query_dense`, ...), which are
    # also their paths in weight files; Keras's private names are aliases.
    _query_dense = property(lambda self: self.query_dense)
    _key_dense = property(lambda self: self.key_dense)
    _value_dense = property(lambda self: self.value_dense)
    _output_dense = property(lambda self: self.output_dense)

    # -- build -------------------------------------------------------------------------
    def _sublayer_kwargs(self):
        return {
            "kernel_regularizer": self._kernel_regularizer,
            "bias_regularizer": self._bias_regularizer,
            "activity_regularizer": self._activity_regularizer,
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint,
            "dtype": self.dtype_policy,
            "kernel_initializer": type(self._kernel_initializer).from_config(
                self._kernel_initializer.get_config()),
            "bias_initializer": type(self._bias_initializer).from_config(
                self._bias_initializer.get_config()),
        }

    def _projection(self, input_rank, last_dims, name, activation=None):
        equation, bias_axes, output_rank = projection_equation(input_rank - 1, 1, 2)
        return EinsumDense(
            equation, output_shape=_partial_shape(output_rank - 1, last_dims),
            bias_axes=bias_axes if self._use_bias else None, activation=activation,
            name=name, **self._sublayer_kwargs())

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}"
            )
        heads = self._num_heads
        self.query_dense = self._projection(len(query_shape), [heads, self._key_dim], "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(len(key_shape), [heads, self._key_dim], "key")
        self.key_dense.build(key_shape)
        if self._use_gate:
            self._gate_dense = self._projection(len(query_shape), [heads, self._value_dim],
                                                "gate", activation="sigmoid")
            self._gate_dense.build(query_shape)
        self.value_dense = self._projection(len(value_shape), [heads, self._value_dim],
                                             "value")
        self.value_dense.build(value_shape)
        self._build_attention(len(value_shape) + 1)
        self.output_dense = self._make_output_dense(query_shape)
        dense_input_shape = list(self.query_dense.compute_output_shape(query_shape))
        dense_input_shape[-1] = self._value_dim
        self.output_dense.build(tuple(dense_input_shape))

    def _make_output_dense(self, query_shape):
        output_shape = self._output_shape if self._output_shape else [query_shape[-1]]
        equation, bias_axes, output_rank = projection_equation(
            len(query_shape) - 1, 2, len(output_shape))
        return EinsumDense(
            equation, output_shape=_partial_shape(output_rank - 1, output_shape),
            bias_axes=bias_axes if self._use_bias else None, name="attention_output",
            **self._sublayer_kwargs())

    def _build_attention(self, rank):
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a
                                         for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = attention_equations(
            rank, self._attention_axes)
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._softmax = Softmax(axis=norm_axes, dtype=self.dtype_policy)
        self._dropout_layer = Dropout(rate=self._dropout, dtype=self.dtype_policy,
                                      seed=self.seed)

    # -- call --------------------------------------------------------------------------
    def __call__(self, query, value, key=None, **kwargs):
        # Built here from the three tensors only (masks never count as build inputs), so
        # numpy `value`/`key` and a mask on the first call give Keras's build config.
        if not self.built:
            shapes = {"query_shape": _shape(query), "value_shape": _shape(value)}
            if key is not None:
                shapes["key_shape"] = _shape(key)
            from kiln.layers.layer_build import _real_scope

            with _real_scope():
                self.build(**shapes)
        if key is not None:
            kwargs["key"] = key
        return super().__call__(query, value, **kwargs)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        value = self._convert_input(value)
        key = value if key is None else self._convert_input(key)
        no_masks = (query_mask is None and value_mask is None and key_mask is None
                    and attention_mask is None and self._sliding_window is None)
        causal_only = (use_causal_mask and no_masks
                       and type(self)._compute_attention is MultiHeadAttention._compute_attention)
        if not no_masks or (use_causal_mask and not causal_only):
            attention_mask = self._compute_attention_mask(
                query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
                attention_mask=attention_mask, use_causal_mask=use_causal_mask)
        gate = self._gate_dense(query) if self._use_gate else None
        query = self.query_dense(query)
        key = self.key_dense(key)
        value = self.value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        output, scores = self._compute_attention(
            query, key, value, attention_mask, training, return_attention_scores, **extra)
        if gate is not None:
            output = output * gate
        output = self.output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                "Returning attention scores is not supported when flash attention is "
                "enabled. Disable flash attention to get the attention scores."
            )
        fused = not (self._dropout > 0.0 or return_attention_scores or query.dim() != 4)
        if fused:
            return self._fused_attention(query, key, value, attention_mask,
                                         use_causal_mask), None
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = causal if attention_mask is None else (
                attention_mask.bool() & causal)
        query = query * self._inverse_sqrt_key_dim
        scores = torch.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer(scores, training=training) if self._dropout > 0.0 \
            else scores
        output = torch.einsum(self._combine_equation, dropped, value)
        return output, scores

    def _fused_attention(self, query, key, value, attention_mask, is_causal):
        mask = None
        if attention_mask is not None:
            mask = attention_mask.bool()
            while mask.dim() < 4:
                mask = mask.unsqueeze(-len(self._attention_axes) * 2 - 1)
            if is_causal:
                q_len, kv_len = query.shape[1], key.shape[1]
                mask = mask & torch.ones(q_len, kv_len, dtype=torch.bool,
                                         device=mask.device).tril()
            is_causal = False
            mask = torch.where(mask, torch.zeros((), dtype=query.dtype, device=query.device),
                               torch.tensor(_SDPA_MASK_VALUE, dtype=query.dtype,
                                            device=query.device))
        out = torch.nn.functional.scaled_dot_product_attention(
            query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2),
            attn_mask=mask, is_causal=bool(is_causal), scale=self._inverse_sqrt_key_dim)
        return out.transpose(1, 2)

    def _masked_softmax(self, scores, attention_mask=None):
        if attention_mask is not None:
            axis = -len(self._attention_axes) * 2 - 1
            while attention_mask.dim() < scores.dim():
                attention_mask = attention_mask.unsqueeze(axis)
        return self._softmax(scores, mask=attention_mask)

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None,
                                key_mask=None, attention_mask=None, use_causal_mask=False):
        auto_mask = None
        if query_mask is not None:
            auto_mask = torch.as_tensor(query_mask).bool().unsqueeze(-1)  # (B, T, 1)
        for mask in (value_mask, key_mask):
            if mask is not None:
                mask = torch.as_tensor(mask).bool().unsqueeze(-2)  # (B, 1, S)
                auto_mask = mask if auto_mask is None else auto_mask & mask
        if use_causal_mask:
            mask = self._compute_causal_mask(query, value)
            auto_mask = mask if auto_mask is None else auto_mask & mask
        if self._sliding_window is not None:
            mask = self._compute_sliding_window_mask(query, value)
            auto_mask = mask if auto_mask is None else auto_mask & mask
        if attention_mask is not None:
            attention_mask = torch.as_tensor(attention_mask).bool()
        if auto_mask is not None:
            attention_mask = auto_mask if attention_mask is None else attention_mask & auto_mask
        return attention_mask

    def _compute_causal_mask(self, query, value=None):
        """`(1, T, S)` boolean mask letting position i attend to positions <= i."""
        q_len = query.shape[1]
        v_len = q_len if value is None else value.shape[1]
        return torch.ones(1, q_len, v_len, dtype=torch.bool, device=query.device).tril()

    def _compute_sliding_window_mask(self, query, value=None):
        q_len = query.shape[1]
        v_len = q_len if value is None else value.shape[1]
        rows = torch.arange(q_len, device=query.device).reshape(1, q_len, 1)
        cols = torch.arange(v_len, device=query.device).reshape(1, 1, v_len)
        return (rows - cols).abs() < self._sliding_window

    # -- shapes ------------------------------------------------------------------------
    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def compute_output_spec(self, query, value, key=None, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, return_attention_scores=False,
                            training=None, use_causal_mask=False):
        from kiln.core.keras_tensor import KerasTensor
        from kiln.layers import layer_build

        if return_attention_scores:
            return layer_build.trace_output_spec(
                self, (query, value),
                {"key": key, "query_mask": query_mask, "value_mask": value_mask,
                 "key_mask": key_mask, "attention_mask": attention_mask,
                 "return_attention_scores": True, "use_causal_mask": use_causal_mask})
        shape = self.compute_output_shape(query.shape, value.shape,
                                          None if key is None else key.shape)
        return KerasTensor(shape, self.compute_dtype)

    # -- config ------------------------------------------------------------------------
    def get_config(self):
        config = {
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
