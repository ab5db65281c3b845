"""`Embedding`: maps integer indices to rows of a trainable `(input_dim, output_dim)` table."""

import torch

from kiln import constraints, initializers, regularizers
from kiln.layers.layer import Layer


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"Embedding expects `{name}` to be a positive integer. "
            f"Received: {name}={value!r} (of type {type(value).__name__})."
        )


class Embedding(Layer):
    """Turns non-negative integer indices into dense vectors of size `output_dim`.

    Inputs may be of any integer dtype; float inputs holding whole numbers are cast to
    integers (truncating), as Keras does. Negative indices count from the end of the table.

    Args:
        input_dim: Vocabulary size (largest index + 1).
        output_dim: Size of each embedding vector.
        embeddings_initializer: Initializer of the table (default `"uniform"`).
        embeddings_regularizer, embeddings_constraint: Optional regularizer / constraint.
        mask_zero: If True, index 0 is padding and `compute_mask` masks it out.
        weights: Optional initial table of shape `(input_dim, output_dim)`.
        lora_rank, lora_alpha: Enable LoRA with this rank (and scale `lora_alpha / rank`).

    Example:
        >>> layer = kiln.layers.Embedding(1000, 64)
        >>> layer(np.array([[4, 20]])).shape
        torch.Size([1, 2, 64])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        _check_positive_int("input_dim", input_dim)
        _check_positive_int("output_dim", output_dim)
        kwargs.pop("input_length", None)  # deprecated in Keras 3 and ignored there too
        super().__init__(**kwargs)
        if quantization_config is not None:
            raise NotImplementedError(
                "kiln does not support quantized Embedding layers. Received: "
                f"quantization_config={quantization_config!r}. Save the model unquantized."
            )
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.autocast = False
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = None
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        self._embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            name="embeddings", regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint, trainable=True)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def embeddings(self):
        """The table in use: the variable, or with LoRA, the variable plus the low-rank delta."""
        if not self.built:
            raise AttributeError(
                f"Embedding layer '{self.name}' is not built yet, so it has no `embeddings`. "
                "Call it on data or call `build()` first."
            )
        if not self.lora_enabled:
            return self._embeddings
        delta = torch.matmul(self.lora_embeddings_a.value, self.lora_embeddings_b.value)
        table = self._embeddings.value + (self.lora_alpha / self.lora_rank) * delta
        return table.to(self._embeddings.value.dtype)

    def call(self, inputs):
        if inputs.dtype not in (torch.int32, torch.int64):
            inputs = inputs.to(torch.int32)
        table = self.embeddings
        table = table.value if not isinstance(table, torch.Tensor) else table
        indices = inputs.long()
        indices = torch.where(indices < 0, indices + self.input_dim, indices)
        outputs = torch.nn.functional.embedding(indices, table)
        from kiln.core import dtypes

        target = dtypes.to_torch(self.compute_dtype)
        return outputs if outputs.dtype == target else outputs.to(target)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return torch.as_tensor(inputs) != 0

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freezes the table and learns a low-rank update `a @ b` instead (LoRA).

        Example:
            >>> layer = kiln.layers.Embedding(100, 8); layer.build()
            >>> layer.enable_lora(4)
            >>> [v.name for v in layer.trainable_weights]
            ['lora_embeddings_a', 'lora_embeddings_b']
        """
        if self.embeddings_constraint:
            raise ValueError(
                f"Embedding layer '{self.name}': LoRA cannot be combined with an "
                "`embeddings_constraint`. Remove the constraint to enable LoRA."
            )
        if not self.built:
            raise ValueError(
                f"Embedding layer '{self.name}' must be built before `enable_lora()`. "
                "Call it on data or call `build()` first."
            )
        if self.lora_enabled:
            raise ValueError(
                f"LoRA is already enabled on Embedding layer '{self.name}'; it can only be "
                "enabled once."
            )
        self.lora_embeddings_a = self.add_weight(
            name="lora_embeddings_a", shape=(self.input_dim, rank),
            initializer=initializers.get(a_initializer), dtype="float32",
            regularizer=self.embeddings_regularizer)
        self.lora_embeddings_b = self.add_weight(
            name="lora_embeddings_b", shape=(rank, self.output_dim),
            initializer=initializers.get(b_initializer), dtype="float32",
            regularizer=self.embeddings_regularizer)
        self._embeddings.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    # With LoRA, files hold only the merged table (as Keras writes them).
    def save_own_variables(self, store):
        if not self.built:
            return
        table = self.embeddings
        store["0"] = table.value if not isinstance(table, torch.Tensor) else table.detach()

    def load_own_variables(self, store):
        if not self.lora_enabled:
            return super().load_own_variables(store)
        if len(store) != 1:
            raise ValueError(
                f"Embedding layer '{self.name}' (LoRA enabled) expected 1 variable (the merged "
                f"table), but received {len(store)} variables during loading."
            )
        self._embeddings.assign(store["0"])
        self.lora_embeddings_a.assign(torch.zeros(self.lora_embeddings_a.shape))
        self.lora_embeddings_b.assign(torch.zeros(self.lora_embeddings_b.shape))

    def get_config(self):
        from kiln.saving import serialize_keras_object

        config = {
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
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
