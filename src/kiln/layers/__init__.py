"""Layers: the building blocks of models. Every layer is a `torch.nn.Module`."""

from kiln.layers.core.dense import Dense
from kiln.layers.core.input_layer import Input, InputLayer
from kiln.layers.input_spec import InputSpec
from kiln.layers.layer import Layer

# >>> layers added by helpers: one import line per layer, keep alphabetical within a block
from kiln.layers.convolutional.conv1d import Conv1D
from kiln.layers.convolutional.conv2d import Conv2D
from kiln.layers.convolutional.conv2d_transpose import Conv2DTranspose
from kiln.layers.convolutional.depthwise_conv2d import DepthwiseConv2D
from kiln.layers.convolutional.separable_conv2d import SeparableConv2D

from kiln.layers.pooling.average_pooling1d import AveragePooling1D
from kiln.layers.pooling.average_pooling2d import AveragePooling2D
from kiln.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D
from kiln.layers.pooling.global_average_pooling2d import GlobalAveragePooling2D
from kiln.layers.pooling.global_max_pooling1d import GlobalMaxPooling1D
from kiln.layers.pooling.global_max_pooling2d import GlobalMaxPooling2D
from kiln.layers.pooling.max_pooling1d import MaxPooling1D
from kiln.layers.pooling.max_pooling2d import MaxPooling2D
from kiln.layers.pooling import (  # Keras's short aliases
    AvgPool1D, AvgPool2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
    MaxPool1D, MaxPool2D)

from kiln.layers.reshaping.flatten import Flatten
from kiln.layers.reshaping.permute import Permute
from kiln.layers.reshaping.repeat_vector import RepeatVector
from kiln.layers.reshaping.reshape import Reshape
from kiln.layers.reshaping.up_sampling2d import UpSampling2D
from kiln.layers.reshaping.zero_padding2d import ZeroPadding2D

from kiln.layers.activations.elu import ELU
from kiln.layers.activations.leaky_relu import LeakyReLU
from kiln.layers.activations.prelu import PReLU
from kiln.layers.activations.relu import ReLU
from kiln.layers.activations.softmax import Softmax
from kiln.layers.attention.multi_head_attention import MultiHeadAttention
from kiln.layers.core.activation import Activation
from kiln.layers.core.einsum_dense import EinsumDense
from kiln.layers.core.embedding import Embedding
from kiln.layers.core.identity import Identity
from kiln.layers.core.lambda_layer import Lambda
from kiln.layers.merging.add import Add, add
from kiln.layers.merging.average import Average, average
from kiln.layers.merging.concatenate import Concatenate, concatenate
from kiln.layers.merging.dot import Dot, dot
from kiln.layers.merging.maximum import Maximum, maximum
from kiln.layers.merging.minimum import Minimum, minimum
from kiln.layers.merging.multiply import Multiply, multiply
from kiln.layers.merging.subtract import Subtract, subtract
from kiln.layers.normalization.batch_normalization import BatchNormalization
from kiln.layers.normalization.layer_normalization import LayerNormalization
from kiln.layers.preprocessing.rescaling import Rescaling
from kiln.layers.regularization.dropout import Dropout
# <<<

__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()] + [
    "Input", "serialize", "deserialize"]

ALL_OBJECTS = {name: obj for name, obj in globals().items()
               if isinstance(obj, type) and issubclass(obj, Layer)}


def serialize(layer):
    """Returns the Keras-format config envelope of `layer`."""
    from kiln.saving import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None, safe_mode=True):
    """Builds a layer from a config envelope (as written by `serialize`)."""
    from kiln.saving import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)
