"""Floating-point operations of one inference, counted from a Keras model's layers (batch of 1).

Convention (as in most NAS papers since MnasNet): a multiply-add is 2 FLOPs; a bias add 1 per output; batch
norm at inference 2 per element (scale and shift); pooling 1 per element of each window; activations, dropout,
flatten and reshapes are not counted. Layers we do not know are counted as 0 with a warning.
"""
from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

_FREE_LAYERS = {"InputLayer", "Activation", "ReLU", "Dropout", "SpatialDropout2D", "Flatten", "Reshape",
                "Rescaling", "Identity", "GaussianNoise", "RandomTranslation", "RandomFlip", "RandomRotation"}


def count_flops(model) -> int:
    """FLOPs of `model` on one example; nested models are counted layer by layer."""
    return sum(_layer_flops(layer) for layer in model.layers)


def _elements(shape) -> int:
    return math.prod(dimension for dimension in shape[1:])  # drop the batch axis


def _layer_flops(layer) -> int:
    kind = type(layer).__name__
    if hasattr(layer, "layers"):  # a nested model or Sequential block
        return count_flops(layer)
    if kind in _FREE_LAYERS:
        return 0
    input_shape, output_shape = tuple(layer.input.shape), tuple(layer.output.shape)
    if kind == "Dense":
        multiply_adds = input_shape[-1] * output_shape[-1]
        return 2 * multiply_adds + (output_shape[-1] if layer.use_bias else 0)
    if kind == "Conv2D":
        kernel_height, kernel_width = layer.kernel_size
        channels_per_group = input_shape[-1] // layer.groups
        outputs = _elements(output_shape)
        return 2 * kernel_height * kernel_width * channels_per_group * outputs + (outputs if layer.use_bias else 0)
    if kind == "DepthwiseConv2D":
        kernel_height, kernel_width = layer.kernel_size
        outputs = _elements(output_shape)
        return 2 * kernel_height * kernel_width * outputs + (outputs if layer.use_bias else 0)
    if kind == "BatchNormalization":
        return 2 * _elements(output_shape)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        pool_height, pool_width = layer.pool_size
        return pool_height * pool_width * _elements(output_shape)
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return _elements(input_shape)
    if kind in ("Add", "Multiply"):
        return (len(layer.input) - 1) * _elements(output_shape)
    logger.warning("FLOPs of layer %s (%s) are not counted; it adds 0 to the total.", layer.name, kind)
    return 0
