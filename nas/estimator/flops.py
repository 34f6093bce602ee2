"""Floating-point operations of one inference, counted from a Keras model's layers (batch of 1).

Convention: a multiply-add is 2 FLOPs, so FLOPs = 2 x MACs (multiply-accumulates) for the layers that multiply.
MnasNet, MobileNet and EfficientNet report multiply-adds, so their "FLOPs" or "mult-adds" are about half of ours
for the same network; every figure nas shows is labelled "FLOPs (2xMAC)" to say so. What is counted:

- a multiply-add is 2 FLOPs, and a bias add is 1 per output element:
  `Dense` 2 x inputs x units per position (+ units), `Conv1D/2D/3D` 2 x kernel volume x input channels per group
  per output element (+ 1), `DepthwiseConv1D/2D` 2 x kernel volume per output element (+ 1), `SeparableConv1D/2D`
  its depthwise part plus its pointwise part (2 x depthwise channels per output element, + 1);
- batch normalization at inference is 2 per element (a scale and a shift: the statistics fold into them);
- max and average pooling are 1 per element of each window (a compare or an add), global pooling 1 per input
  element; `Add`, `Subtract`, `Multiply`, `Maximum`, `Minimum` (n - 1) per output element of n inputs,
  `Average` n;
- activations (the `Activation` layer, `ReLU`, `Softmax`, ..., and the `activation=` of a `Dense` or `Conv2D`),
  dropout, flatten, reshapes, padding, cropping and concatenation are not counted: their cost per element differs
  by function and hardware and is small next to the layers above.

A model nested in another one is counted layer by layer. Layers we do not know are counted as 0, with a warning.
"""
from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

_FREE_LAYERS = {
    "InputLayer", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout", "GaussianNoise", "Flatten", "Reshape",
    "Permute", "RepeatVector", "Rescaling", "Identity", "ActivityRegularization", "Concatenate", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "RandomTranslation", "RandomFlip",
    "RandomRotation", "RandomZoom", "RandomContrast", "RandomCrop",
}
_CONVOLUTIONS = {"Conv1D", "Conv2D", "Conv3D"}
_DEPTHWISE = {"DepthwiseConv1D", "DepthwiseConv2D"}
_SEPARABLE = {"SeparableConv1D", "SeparableConv2D"}
_POOLING = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
            "AveragePooling3D"}
_GLOBAL_POOLING = {"GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
                   "GlobalAveragePooling2D", "GlobalAveragePooling3D"}
_ELEMENTWISE = {"Add", "Subtract", "Multiply", "Maximum", "Minimum"}


def count_flops(model) -> int:
    """FLOPs of `model` on one example; nested models are counted layer by layer."""
    return sum(layer_flops(layer) for layer in model.layers)


def _elements(shape) -> int:
    return math.prod(dimension for dimension in shape[1:])  # drop the batch axis


def _channels(layer, shape) -> int:
    return shape[1] if getattr(layer, "data_format", "channels_last") == "channels_first" else shape[-1]


def _bias(layer, outputs: int) -> int:
    return outputs if getattr(layer, "use_bias", False) else 0


def layer_flops(layer) -> int:
    """FLOPs of one layer on one example (a nested model: its layers')."""
    kind = type(layer).__name__
    if hasattr(layer, "layers"):  # a nested model or Sequential block
        return count_flops(layer)
    if kind in _FREE_LAYERS:
        return 0
    output_shape = tuple(layer.output.shape)
    outputs = _elements(output_shape)
    if kind in _ELEMENTWISE:  # several inputs
        return (len(layer.input) - 1) * outputs
    if kind == "Average":
        return len(layer.input) * outputs
    input_shape = tuple(layer.input.shape)
    if kind == "Dense":  # on inputs of rank > 2 it acts on the last axis at every position
        return 2 * outputs * input_shape[-1] + _bias(layer, outputs)
    if kind in _CONVOLUTIONS:
        channels_per_group = _channels(layer, input_shape) // layer.groups
        return 2 * math.prod(layer.kernel_size) * channels_per_group * outputs + _bias(layer, outputs)
    if kind in _DEPTHWISE:  # each output element sees one input channel
        return 2 * math.prod(layer.kernel_size) * outputs + _bias(layer, outputs)
    if kind in _SEPARABLE:
        depthwise_channels = _channels(layer, input_shape) * layer.depth_multiplier
        positions = outputs // _channels(layer, output_shape)
        depthwise = 2 * math.prod(layer.kernel_size) * depthwise_channels * positions
        pointwise = 2 * depthwise_channels * outputs
        return depthwise + pointwise + _bias(layer, outputs)
    if kind == "BatchNormalization":
        return 2 * outputs
    if kind in _POOLING:
        return math.prod(layer.pool_size) * outputs
    if kind in _GLOBAL_POOLING:
        return _elements(input_shape)
    logger.warning("FLOPs of layer %s (%s) are not counted; it adds 0 to the total.", layer.name, kind)
    return 0
