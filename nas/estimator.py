"""Scores one architecture: builds its Keras model, measures its cost, trains it and measures its accuracy.

Cost (parameters, FLOPs, latency) is measured before training, since it does not depend on the weights; a
trial's validation accuracy is reported after every epoch so a scheduler can stop it early. Anything that goes
wrong (an architecture too deep for the input, a NaN loss, out of memory) becomes a `TrialFailed` with a
one-line reason, so the search records it and goes on.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nas.flops import count_flops
from nas.latency import DEFAULT_BATCH_SIZE, measure_latency
from search_spaces import Architecture, SearchSpace

OPTIMIZERS = ("adam", "sgd")


class TrialFailed(Exception):
    """A trial that could not be scored; the message is its reason, one line."""


class ArchitectureDoesNotFit(TrialFailed):
    """The architecture cannot be built for this input shape (e.g. more pooling than the image has pixels)."""


@dataclass(frozen=True)
class TrainingRecipe:
    """How a model is trained: the same recipe for every trial of a search keeps them comparable."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 2
    momentum: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Expected optimizer in {OPTIMIZERS}. Received: {self.optimizer!r}")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ValueError(f"Expected epochs >= 1, batch_size >= 1 and learning_rate > 0. Received: {self}")

    def make_optimizer(self):
        import keras

        if self.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate=self.learning_rate, momentum=self.momentum)
        return keras.optimizers.Adam(learning_rate=self.learning_rate)


@dataclass(frozen=True)
class ModelCost:
    """What a model costs at inference (nas.latency says how latency is measured)."""

    params: int
    flops: int  # one example; a multiply-add is 2 (nas.flops)
    latency_ms: float  # batch 1
    latency_batch_ms: float | None = None  # one call on `latency_batch_size` examples
    latency_batch_size: int | None = None
    latency_device: str | None = None  # "CPU" or the GPU's name
    latency_threads: int | None = None  # TensorFlow's intra-op threads during the measurement

    def metrics(self) -> dict:
        """The figures a trial reports, under the same names."""
        return {"params": self.params, "flops": self.flops, "latency_ms": self.latency_ms,
                "latency_batch_ms": self.latency_batch_ms, "latency_batch_size": self.latency_batch_size,
                "latency_device": self.latency_device, "latency_threads": self.latency_threads}


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 1-based
    accuracy: float  # on the held-out data given to `train` (validation during a search)
    train_seconds: float  # cumulative training time up to this epoch


def build_model(space: SearchSpace, arch: Architecture, input_shape: Sequence[int], num_classes: int,
                seed: int = 0):
    """The architecture's Keras model, its initial weights drawn from `seed` (Python, numpy and TF seeded)."""
    import keras

    keras.utils.set_random_seed(seed)
    try:
        return space.build(arch, input_shape, num_classes)
    except Exception as error:  # a builder's error is the architecture's fault, not the search's
        raise ArchitectureDoesNotFit(f"cannot build {arch.key} for input {tuple(input_shape)}: "
                                     f"{_one_line(error)}") from error


def measure_cost(model, input_shape: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE) -> ModelCost:
    """Parameters, FLOPs, and latency at batch 1 and at `batch_size` on this process's device and threads."""
    latency = measure_latency(model, input_shape, batch_size=batch_size)
    return ModelCost(params=int(model.count_params()), flops=count_flops(model), latency_ms=latency.batch_1_ms,
                     latency_batch_ms=latency.batch_ms, latency_batch_size=latency.batch_size,
                     latency_device=latency.device, latency_threads=latency.threads)


def train(model, x_train: np.ndarray, y_train: np.ndarray, recipe: TrainingRecipe,
          held_out: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
          on_epoch_end: Callable[[EpochResult], None] | None = None) -> list[EpochResult]:
    """Train `model` with `recipe`; after each epoch measure accuracy on `held_out` and call `on_epoch_end`."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=recipe.make_optimizer(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    results: list[EpochResult] = []
    train_seconds = 0.0
    try:
        for epoch in range(1, recipe.epochs + 1):
            # One fit call per epoch keeps the timing of training apart from evaluation and reporting.
            start = time.perf_counter()
            history = model.fit(x_train, y_train, batch_size=recipe.batch_size, epochs=1, shuffle=True, verbose=0)
            train_seconds += time.perf_counter() - start
            loss = history.history["loss"][-1]
            if not math.isfinite(loss):
                raise TrialFailed(f"training loss became {loss} in epoch {epoch}")
            accuracy = evaluate_accuracy(model, *held_out, recipe.batch_size) if held_out else math.nan
            results.append(EpochResult(epoch, accuracy, train_seconds))
            if on_epoch_end is not None:
                on_epoch_end(results[-1])
    except tf.errors.ResourceExhaustedError as error:
        raise TrialFailed(f"out of memory: {_one_line(error)}") from error
    return results


def evaluate_accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    _, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    return float(accuracy)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
