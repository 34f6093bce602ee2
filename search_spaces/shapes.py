"""The layers a built-in space's builder would make, counted without building them (no Keras, no TensorFlow).

A `LayerShape` is what one layer costs: its parameters as Keras counts them, its FLOPs on one example as
nas/estimator/flops.py counts the built layer (a multiply-add is 2, a bias add 1 per output element), and the
number of elements of its output on one example (what training keeps for the backward pass). A space whose
builder has a `shapes` function beside it (`SearchSpace(..., shapes=...)`) is estimated from these in the search's
driver before a trial is sent anywhere (nas/estimator/footprint.py); the tests build every reference and random
architectures and check the counts against the built model's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class LayerShape:
    kind: str  # "conv", "dense", "batch_norm", "activation", "pooling", "global_pooling", "flatten", "dropout"
    params: int
    flops: int  # one example
    outputs: int  # elements of the layer's output for one example

    @property
    def weighted(self) -> bool:
        """A convolution or a dense layer (what the weight-sharing supernet counts as a child's layers)."""
        return self.kind in ("conv", "dense")


def conv(kernel: int, channels: int, filters: int, positions: int, bias: bool) -> LayerShape:
    """A 'same'-padded convolution with `kernel` x `kernel` windows at `positions` output positions."""
    outputs = positions * filters
    return LayerShape("conv", kernel * kernel * channels * filters + (filters if bias else 0),
                      2 * kernel * kernel * channels * outputs + (outputs if bias else 0), outputs)


def dense(inputs: int, units: int) -> LayerShape:
    return LayerShape("dense", inputs * units + units, 2 * inputs * units + units, units)


def batch_norm(channels: int, outputs: int) -> LayerShape:
    """Keras counts 4 per channel: scale, shift and the two moving statistics."""
    return LayerShape("batch_norm", 4 * channels, 2 * outputs, outputs)


def free(kind: str, outputs: int) -> LayerShape:
    """A layer without weights whose cost nas does not count (activation, flatten, dropout)."""
    return LayerShape(kind, 0, 0, outputs)


def pooling(window: int, outputs: int) -> LayerShape:
    """Max or average pooling: one compare or add per element of each window."""
    return LayerShape("pooling", 0, window * outputs, outputs)


def global_pooling(inputs: int, channels: int) -> LayerShape:
    return LayerShape("global_pooling", 0, inputs, channels)


def elements(shape: Sequence[int]) -> int:
    return math.prod(int(size) for size in shape)
