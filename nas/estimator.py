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
SCHEDULES = ("constant", "cosine")
AUGMENTATIONS = ("none", "shift")
# `shift` moves each training image by up to this fraction of its height and width (2 pixels of MNIST's 28).
SHIFT_FRACTION = 0.08
EVALUATION_BATCH_SIZE = 256


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
    schedule: str = "constant"  # cosine: the learning rate falls from its value to 0 along a half cosine, per step
    augment: str = "none"  # shift: random shifts of the training images (Keras' RandomTranslation)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Expected optimizer in {OPTIMIZERS}. Received: {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Expected schedule in {SCHEDULES}. Received: {self.schedule!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"Expected augment in {AUGMENTATIONS}. Received: {self.augment!r}")
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
          on_epoch_end: Callable[[EpochResult], None] | None = None,
          deadline: float | None = None) -> list[EpochResult]:
    """Train `model` with `recipe`; after each epoch measure accuracy on `held_out` and call `on_epoch_end`.

    With a `deadline` (a `time.time()`), training plans as many of the recipe's epochs as fit before it, from the
    time the last epoch took (the first one also traces the model, so it is the slowest), and a cosine schedule is
    stretched over the epochs planned: the first epoch runs with the recipe's epochs planned, and the plan is
    redone after each epoch.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=recipe.make_optimizer(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    steps_per_epoch = math.ceil(len(x_train) / recipe.batch_size)
    schedule = _cosine_schedule(recipe.learning_rate, recipe.epochs * steps_per_epoch) \
        if recipe.schedule == "cosine" else None
    callbacks = [schedule] if schedule else None
    batches = _augmented_batches(x_train, y_train, recipe, seed) if recipe.augment != "none" else None
    results: list[EpochResult] = []
    train_seconds = 0.0
    planned = recipe.epochs
    try:
        epoch = 0
        while epoch < planned:
            epoch += 1
            epoch_started = time.time()
            # One fit call per epoch keeps the timing of training apart from evaluation and reporting.
            start = time.perf_counter()
            if batches is not None:
                history = model.fit(batches, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)  # shuffled
            else:
                history = model.fit(x_train, y_train, batch_size=recipe.batch_size, epochs=1, shuffle=True,
                                    verbose=0, callbacks=callbacks)
            train_seconds += time.perf_counter() - start
            loss = history.history["loss"][-1]
            if not math.isfinite(loss):
                raise TrialFailed(f"training loss became {loss} in epoch {epoch}")
            # Scored in batches of EVALUATION_BATCH_SIZE whatever the training batch: the same score, sooner.
            accuracy = evaluate_accuracy(model, *held_out) if held_out else math.nan
            results.append(EpochResult(epoch, accuracy, train_seconds))
            if on_epoch_end is not None:
                on_epoch_end(results[-1])
            if deadline is not None:
                seconds_per_epoch = time.time() - epoch_started
                fitting = epoch + int(max(0.0, deadline - time.time()) // seconds_per_epoch)
                planned = max(epoch, min(recipe.epochs, fitting))
                if schedule:
                    schedule.total_steps = planned * steps_per_epoch
    except tf.errors.ResourceExhaustedError as error:
        raise TrialFailed(f"out of memory: {_one_line(error)}") from error
    return results


def _cosine_schedule(learning_rate: float, total_steps: int):
    """A Keras callback that sets the optimizer's learning rate before each step: `learning_rate` falling to 0
    along a half cosine over `total_steps` (Loshchilov & Hutter, SGDR, 2017, without restarts). Unlike Keras'
    own `CosineDecay` schedule, its length can change during training, and the optimizer keeps a plain learning
    rate, so saved models load without a custom class."""
    import keras

    class CosineSchedule(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.total_steps, self.step = max(1, total_steps), 0

        def on_train_batch_begin(self, batch, logs=None):
            progress = min(self.step, self.total_steps) / self.total_steps
            self.model.optimizer.learning_rate = learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
            self.step += 1

    return CosineSchedule()


def _augmented_batches(x: np.ndarray, y: np.ndarray, recipe: TrainingRecipe, seed: int):
    """A tf.data pipeline of shuffled, randomly shifted training batches, prepared in parallel with training.
    Keras' RandomTranslation does the shifting; the empty border is filled with 0 (the background)."""
    import keras
    import tensorflow as tf

    shift = keras.layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="constant",
                                           interpolation="nearest", seed=seed)
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(recipe.batch_size)
            .map(lambda images, labels: (shift(images, training=True), labels), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def evaluate_accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = EVALUATION_BATCH_SIZE) -> float:
    _, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    return float(accuracy)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
