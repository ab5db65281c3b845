"""Pooling layers: windowed max/average pooling and global pooling."""

from kiln.layers.pooling.average_pooling1d import AveragePooling1D
from kiln.layers.pooling.average_pooling2d import AveragePooling2D
from kiln.layers.pooling.global_average_pooling1d import GlobalAveragePooling1D
from kiln.layers.pooling.global_average_pooling2d import GlobalAveragePooling2D
from kiln.layers.pooling.global_max_pooling1d import GlobalMaxPooling1D
from kiln.layers.pooling.global_max_pooling2d import GlobalMaxPooling2D
from kiln.layers.pooling.max_pooling1d import MaxPooling1D
from kiln.layers.pooling.max_pooling2d import MaxPooling2D

__all__ = [
    "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D",
]

# Keras's short aliases (same classes; configs always carry the long class names).
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D

__all__ += [
    "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "MaxPool1D", "MaxPool2D",
]
