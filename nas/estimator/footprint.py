"""One estimate of what an architecture costs before it trains: parameters, FLOPs and the memory of a trial.

A trial's memory, as the worker's resident set sees it, is three parts:
- TensorFlow's own, the same for every model: the library, its kernels and its thread pools
  (TENSORFLOW_WORKER_BYTES, measured by benchmarks/memory_estimate.py);
- the data the worker holds: the arrays and the copy Keras' data adapter makes of them (`data_bytes`);
- the architecture's: its weights, their gradients, the optimizer's state (one or two slots per weight), the
  activations a training step keeps for its backward pass at the recipe's batch size, with the gradients that flow
  back through them (ACTIVATION_COPIES), and what a training run holds besides (TRAINING_RUN_BYTES, LAYER_BYTES).
The built-in spaces count their layers without building (search_spaces/shapes.py), so the search's driver knows
this before it sends a trial anywhere; a user's space or a keras-tuner `build(hp)` is estimated from its layers once
built, in the worker, before any training (`built_layers`). `benchmarks/memory_estimate.py` measures the estimate
against the real peak memory of trials of each built-in space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from nas.estimator.objectives import OVER_LIMIT_PREFIX
from nas.estimator.recipe import Optimizer, Recipe
from search_spaces import Architecture, SearchSpace
from search_spaces.shapes import LayerShape

FLOAT_BYTES = 4  # float32 weights and activations
# Keras' optimizers keep this many float32 values per weight (keras/src/optimizers/*.py): Adam's and its kin's
# two moments; RMSprop's and Adagrad's one accumulator; SGD's momentum only when it has one; Lion one momentum.
OPTIMIZER_SLOTS = {Optimizer.ADAM: 2, Optimizer.ADAMW: 2, Optimizer.ADAMAX: 2, Optimizer.NADAM: 2,
                   Optimizer.RMSPROP: 1, Optimizer.ADAGRAD: 1, Optimizer.LION: 1, Optimizer.SGD: 0}
UNKNOWN_OPTIMIZER_SLOTS = 2  # an optimizer given as a Keras config: the common worst case
# A training step keeps every layer's output for the backward pass and makes a gradient of the same size for
# each. Each Keras fit also copies the training and validation data it iterates, and TensorFlow keeps buffers per
# layer of its compiled step. Fitted on the peaks of benchmarks/memory_estimate.py (32 architectures of each
# built-in space; fitted on the same rows it is judged on): cnn's activations measured 1.2 copies; a fixed cost of
# 35-60 MB per training run; about a MB a layer. With these, no estimate of the 64 fell short of its measurement.
ACTIVATION_COPIES = 2
TRAINING_RUN_BYTES = 60 * 1024**2
LAYER_BYTES = 1024**2
# What a worker holds of its own, whatever the model: TensorFlow and Keras imported and warmed up by a first
# training. Measured on Linux, TensorFlow 2.21, jemalloc: about 720 MB in a new Ray worker
# (benchmarks/memory_estimate.py), growing to 880-920 MB in a worker reused for 300-500 trials
# (benchmarks/memory_growth.py); the limit is checked against the reused worker's.
TENSORFLOW_WORKER_BYTES = 900 * 1024**2
# Keras' TensorFlow data adapter copies numpy arrays into tensors: a worker holds its data twice.
DATA_COPIES = 2


@dataclass(frozen=True)
class Footprint:
    """An architecture's size and the memory training it takes, in bytes, at `batch_size`."""

    params: int
    flops: int  # one example, 2 per multiply-add (nas/estimator/flops.py)
    weights: int  # the weights and their gradients
    optimizer_state: int
    activations: int  # one training step's, at the batch size
    batch_size: int
    training_run: int = 0  # what a Keras fit and its compiled step hold besides: data copies, per-layer buffers

    @property
    def architecture_bytes(self) -> int:
        """What training the architecture adds to a worker: weights, gradients, optimizer state, activations and
        what its training run holds besides."""
        return self.weights + self.optimizer_state + self.activations + self.training_run

    def trial_bytes(self, data_bytes: int) -> int:
        """What a worker training it is expected to hold: TensorFlow's own, the data, the architecture's."""
        return TENSORFLOW_WORKER_BYTES + DATA_COPIES * data_bytes + self.architecture_bytes


def footprint(layers: Sequence[LayerShape], input_elements: int, recipe: Recipe) -> Footprint:
    """The footprint of a model made of `layers` on inputs of `input_elements` values each, trained by `recipe`."""
    params = sum(layer.params for layer in layers)
    kept = input_elements + sum(layer.outputs for layer in layers)
    return Footprint(params=params, flops=sum(layer.flops for layer in layers),
                     weights=2 * FLOAT_BYTES * params,
                     optimizer_state=optimizer_slots(recipe) * FLOAT_BYTES * params,
                     activations=ACTIVATION_COPIES * FLOAT_BYTES * recipe.batch_size * kept,
                     batch_size=recipe.batch_size, training_run=TRAINING_RUN_BYTES + LAYER_BYTES * len(layers))


def optimizer_slots(recipe: Recipe) -> int:
    if isinstance(recipe.optimizer, dict):
        return UNKNOWN_OPTIMIZER_SLOTS
    try:
        optimizer = Optimizer(str(getattr(recipe.optimizer, "value", recipe.optimizer)).lower())
    except ValueError:
        return UNKNOWN_OPTIMIZER_SLOTS
    if optimizer == Optimizer.SGD and recipe.momentum:
        return 1
    return OPTIMIZER_SLOTS[optimizer]


def estimate(space: SearchSpace, arch: Architecture, input_shape: Sequence[int], num_outputs: int,
             recipe: Recipe) -> Footprint | None:
    """The footprint of `arch` counted without building it, with the training settings it names; None for a space
    that cannot count its layers (its models are estimated once built: `built_layers`). Raises ValueError where
    the architecture does not fit the input, as its builder would."""
    layers = space.layer_shapes(arch, input_shape, num_outputs)
    if layers is None:
        return None
    return footprint(layers, math.prod(input_shape), recipe.for_architecture(dict(arch)))


def built_layers(model) -> list[LayerShape]:
    """A built Keras model's layers as the counts of search_spaces/shapes.py (nested models layer by layer): its
    parameters, FLOPs (nas/estimator/flops.py) and output sizes, read from the layers' shapes."""
    from nas.estimator.flops import layer_flops

    layers = []
    for layer in _flat_layers(model):
        try:
            outputs = math.prod(int(size or 1) for size in tuple(layer.output.shape)[1:])
        except (AttributeError, ValueError, TypeError):  # a layer with several outputs or an unknown shape
            outputs = 0
        layers.append(LayerShape(type(layer).__name__, int(layer.count_params()), layer_flops(layer), outputs))
    return layers


def _flat_layers(model) -> list:
    flat = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            flat += _flat_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            flat.append(layer)
    return flat


def memory_violation(needs: Footprint, data_bytes: int, limit: int) -> str | None:
    """Why a model would take more memory than a trial may (`limit` bytes), or None."""
    total = needs.trial_bytes(data_bytes)
    if total <= limit:
        return None
    return (f"{OVER_LIMIT_PREFIX} needs about {describe_bytes(total)}, the limit is {describe_bytes(limit)} per "
            f"trial (max_memory); not trained")


def worker_data_bytes(data) -> int:
    """The training and validation arrays a search trial's worker holds (TaskData; the test part is not shipped),
    with the one-hot rows its models are fed where the user gave labels so (TaskData.as_given)."""
    held = sum(int(getattr(part, "nbytes", 0)) for part in (data.x_train, data.y_train, data.x_validation,
                                                             data.y_validation) if part is not None)
    form = getattr(data, "label_form", None)
    if form is not None and form.one_hot:
        import numpy as np

        held += (len(data.y_train) + len(data.y_validation)) * data.num_outputs * np.dtype(form.dtype).itemsize
    return held


def describe_bytes(size: float) -> str:
    """`9.1 GB`, `350 MB`: powers of 1024, as the limits are given (nas/settings/checks.py)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if size < 10 * scale else f"{size / scale:.0f} {unit}"
    return f"{int(size)} B"
