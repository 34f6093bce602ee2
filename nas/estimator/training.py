"""How a model is trained and measured under a `Recipe` (nas/estimator/recipe.py): one `fit` call with nas's
callbacks and the user's, or the user's own loop (`train_fn`); and the training state a trial saves to go on later.

- A model the space's builder already compiled (a keras-tuner `build(hp)` usually does) keeps its optimizer, loss,
  metrics and learning rate (nas's schedule too is for the models it compiles); any other is compiled with the
  recipe's: its optimizer and learning rate, its loss (cross-entropy for a classification, sparse for class
  indices and categorical for one-hot labels, from logits unless the model ends in a softmax; mse for a
  regression) and metrics (accuracy for a classification, mae for a regression, and the recipe's).
- The labels a model is fed are the user's, as given (nas/data/task_data.py: `TaskData.as_given`).
- The validation metrics Keras computes after each epoch (`val_loss`, `val_accuracy`, ...) are reported then, so a
  scheduler can stop a trial early. A deadline makes training plan as many epochs as fit before it.
- `train_fn(model, data, report)` replaces all of this: it trains `model` on `data` (a `TrainingData`) its own way
  and calls `report(metrics)` after each epoch, with at least the objective's metric.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from nas.data.task_data import Task
from nas.errors import TrialFailed
from nas.estimator.recipe import Augment, Recipe, Schedule

# `shift` moves each training image by up to this fraction of its height and width (2 pixels of MNIST's 28).
SHIFT_FRACTION = 0.08
EVALUATION_BATCH_SIZE = 256


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 1-based
    metrics: dict  # the validation metrics after this epoch (val_loss, val_accuracy, ...)
    train_seconds: float  # cumulative training time up to this epoch, validation left out
    training_metrics: dict = dataclasses.field(default_factory=dict)  # Keras' on the training batches (loss, ...)

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("val_accuracy")


@dataclass(frozen=True)
class TrainingData:
    """What a `train_fn` receives: the parts to train on and validate with (None in the final training, which
    trains on both), the architecture (its training settings included) and the recipe nas would use."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray | None
    y_validation: np.ndarray | None
    arch: dict
    recipe: Recipe
    task: Task
    num_outputs: int
    seed: int


def prepare_model(model, recipe: Recipe, task: Task, one_hot: bool = False) -> bool:
    """Compile `model` with the recipe, unless its builder compiled it; returns whether nas compiled it. `one_hot`:
    the labels it will be fed are one-hot rows, not class indices."""
    if getattr(model, "compiled", False):
        return False
    import keras

    if recipe.loss is not None:
        loss = recipe.loss if isinstance(recipe.loss, str) else keras.saving.deserialize_keras_object(recipe.loss)
    elif task == Task.CLASSIFICATION:
        cross_entropy = keras.losses.CategoricalCrossentropy if one_hot else keras.losses.SparseCategoricalCrossentropy
        loss = cross_entropy(from_logits=not _ends_in_softmax(model))
    else:
        loss = "mse"
    own = [metric if isinstance(metric, str) else keras.saving.deserialize_keras_object(metric)
           for metric in recipe.metrics]
    default = ["accuracy"] if task == Task.CLASSIFICATION else ["mae"]
    metrics = default + [metric for metric in own if metric not in default]
    model.compile(optimizer=recipe.make_optimizer(), loss=loss, metrics=metrics)
    return True


def _one_hot(labels: np.ndarray, task: Task) -> bool:
    return task == Task.CLASSIFICATION and labels.ndim == 2 and labels.shape[1] > 1


def _ends_in_softmax(model) -> bool:
    import keras

    last = model.layers[-1] if model.layers else None
    return getattr(last, "activation", None) is keras.activations.softmax or type(last).__name__ == "Softmax"


def train(model, x: np.ndarray, y: np.ndarray, recipe: Recipe, task: Task,
          held_out: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
          on_epoch_end: Callable[[EpochResult], None] | None = None, deadline: float | None = None,
          callbacks: Sequence = (), resume_from: Path | None = None) -> list[EpochResult]:
    """Train `model` with `recipe` in one Keras fit call; after each epoch, report the validation metrics on
    `held_out` to `on_epoch_end`. With `resume_from` (a folder `save_training_state` wrote), training goes on after
    the epoch saved there, from its weights and optimizer state, and along the same learning-rate schedule; the
    data of the remaining epochs comes in another order than it would have.

    With a `deadline` (a `time.time()`), training plans as many of the recipe's epochs as fit before it, from the
    time the last epoch took (the first one also traces the model, so it is the slowest), and a cosine schedule is
    stretched over the epochs planned: the first epoch runs with the recipe's epochs planned, and the plan is
    redone after each epoch.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    compiled_here = prepare_model(model, recipe, task, one_hot=_one_hot(y, task))
    steps_per_epoch = math.ceil(len(x) / recipe.batch_size)
    cosine_schedule, epoch_progress = _callback_classes()
    # The schedule belongs to nas's compile: a model its builder compiled keeps its own learning rate.
    cosine = recipe.schedule == Schedule.COSINE and compiled_here
    schedule = cosine_schedule(recipe.epochs * steps_per_epoch) if cosine else None
    progress = epoch_progress(on_epoch_end, deadline, recipe.epochs, schedule, steps_per_epoch)
    first_epoch = 0
    if resume_from is not None:
        first_epoch, progress.train_seconds = restore_training_state(model, resume_from)
        if schedule:
            schedule.step = first_epoch * steps_per_epoch
    images = x.ndim == 4
    if recipe.augment == Augment.SHIFT and images:
        inputs = dict(x=_shifted_batches(x, y, recipe.batch_size, seed), shuffle=False)  # the pipeline shuffles
    else:
        inputs = dict(x=x, y=y, batch_size=recipe.batch_size, shuffle=True)
    try:
        model.fit(**inputs, epochs=recipe.epochs, initial_epoch=first_epoch, verbose=0, validation_data=held_out,
                  validation_batch_size=EVALUATION_BATCH_SIZE if held_out else None,
                  callbacks=[*([schedule] if schedule else []), progress, *callbacks])
    except tf.errors.ResourceExhaustedError as error:
        raise TrialFailed(f"out of memory: {one_line(error)}") from error
    return progress.results


# A trial's training state after an epoch: its weights and optimizer variables as numpy arrays (Keras' own .keras
# files would bring back a compiled model, and its optimizer's learning rate where the schedule had left it).
_STATE_FILE, _PROGRESS_FILE = "training_state.npz", "progress.json"


def save_training_state(model, folder: Path, epoch: int, train_seconds: float) -> None:
    """Write what `train(resume_from=folder)` needs to go on after `epoch`."""
    optimizer = [variable for variable in model.optimizer.variables if not _is_learning_rate(variable)]
    arrays = {f"weight_{index}": value for index, value in enumerate(model.get_weights())}
    arrays.update({f"optimizer_{index}": np.asarray(variable) for index, variable in enumerate(optimizer)})
    np.savez(folder / _STATE_FILE, **arrays)
    (folder / _PROGRESS_FILE).write_text(json.dumps({"epoch": epoch, "train_seconds": train_seconds}))


def saved_epoch(folder: Path) -> int | None:
    """The epoch a saved training state ends with (None: no state there)."""
    try:
        return int(json.loads((folder / _PROGRESS_FILE).read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def restore_training_state(model, folder: Path) -> tuple[int, float]:
    """Load a saved state into `model` (built and compiled as when it was saved); returns the epoch it ends with
    and the training seconds spent up to it."""
    progress = json.loads((folder / _PROGRESS_FILE).read_text())
    with np.load(folder / _STATE_FILE, allow_pickle=False) as arrays:
        weights = [arrays[f"weight_{index}"] for index in range(len(model.get_weights()))]
        model.set_weights(weights)
        model.optimizer.build(model.trainable_variables)
        optimizer = [variable for variable in model.optimizer.variables if not _is_learning_rate(variable)]
        saved = sum(name.startswith("optimizer_") for name in arrays.files)
        if saved != len(optimizer):
            raise ValueError(f"the saved optimizer has {saved} variables, this one {len(optimizer)}")
        for index, variable in enumerate(optimizer):
            variable.assign(arrays[f"optimizer_{index}"])
    return int(progress["epoch"]), float(progress["train_seconds"])


def _is_learning_rate(variable) -> bool:
    """The optimizer's learning rate: the schedule sets it, from the recipe, not from the saved state."""
    return (getattr(variable, "path", None) or getattr(variable, "name", "")).split("/")[-1] == "learning_rate"


def train_with_function(train_fn: Callable, model, data: TrainingData,
                        on_epoch_end: Callable[[EpochResult], None] | None = None,
                        must_report: bool = True) -> list[EpochResult]:
    """Run the user's `train_fn(model, data, report)`; each `report(metrics)` call is an epoch."""
    import keras

    keras.utils.set_random_seed(data.seed)
    results: list[EpochResult] = []
    start = time.perf_counter()

    def report(metrics: dict | None = None, **more: float) -> None:
        values = {str(name): float(value) for name, value in {**(metrics or {}), **more}.items()}
        results.append(EpochResult(len(results) + 1, values, time.perf_counter() - start))
        if on_epoch_end is not None:
            on_epoch_end(results[-1])

    train_fn(model, data, report)
    if must_report and not results:
        raise TrialFailed("train_fn returned without calling report(...); expected report({'val_loss': ...}) "
                          "after each epoch, with the objective's metric")
    return results


def evaluate(model, x: np.ndarray, y: np.ndarray, recipe: Recipe, task: Task) -> dict[str, float]:
    """The model's loss and metrics on (x, y), as Keras' evaluate computes them (compiling it first if a train_fn
    left it uncompiled)."""
    prepare_model(model, recipe, task, one_hot=_one_hot(y, task))
    return {name: float(value) for name, value in
            model.evaluate(x, y, batch_size=EVALUATION_BATCH_SIZE, verbose=0, return_dict=True).items()}


def epoch_progress_callback(on_epoch_end: Callable[[EpochResult], None] | None, deadline: float | None,
                            epochs: int):
    """nas's callback that reports each epoch (and stops at a deadline), for a training nas does not run itself."""
    return _callback_classes()[1](on_epoch_end, deadline, epochs, None, 0)


@functools.cache
def _callback_classes():
    """nas's Keras callbacks, defined once Keras is imported (importing this module must not import TensorFlow)."""
    import keras

    class CosineSchedule(keras.callbacks.Callback):
        """Sets the optimizer's learning rate before each step: its starting rate falling to 0 along a half cosine
        over `total_steps` (Loshchilov & Hutter, SGDR, 2017, without restarts). Unlike Keras' own `CosineDecay`
        schedule, its length can change during training, and the optimizer keeps a plain learning rate, so saved
        models load without a custom class. An optimizer built on a Keras schedule object keeps that schedule."""

        def __init__(self, total_steps: int):
            super().__init__()
            self.total_steps, self.step, self.base = max(1, total_steps), 0, None

        def on_train_begin(self, logs=None):
            try:
                self.base = float(self.model.optimizer.learning_rate)
                self.model.optimizer.learning_rate = self.base
            except (TypeError, ValueError):  # a LearningRateSchedule: the optimizer's own schedule stays
                self.base = None

        def on_train_batch_begin(self, batch, logs=None):
            if self.base is None:
                return
            progress = min(self.step, self.total_steps) / self.total_steps
            self.model.optimizer.learning_rate = self.base * 0.5 * (1.0 + math.cos(math.pi * progress))
            self.step += 1

    class EpochProgress(keras.callbacks.Callback):
        """Times each epoch without its validation, reports it, and stops training once the deadline leaves no
        room for another epoch."""

        def __init__(self, on_epoch_end, deadline: float | None, epochs: int, schedule, steps_per_epoch: int):
            super().__init__()
            self.on_epoch_end_callback, self.deadline, self.epochs = on_epoch_end, deadline, epochs
            self.schedule, self.steps_per_epoch = schedule, steps_per_epoch
            self.results: list[EpochResult] = []
            self.train_seconds = self.validation_seconds = 0.0
            self.last_epoch_ended = time.time()

        def on_train_begin(self, logs=None):
            self.last_epoch_ended = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()
            self.validation_seconds = 0.0

        def on_test_begin(self, logs=None):
            self.validation_started = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation_seconds += time.perf_counter() - self.validation_started

        def on_epoch_end(self, epoch, logs=None):
            # A HyperModel's own training loop may call this alone (keras-tuner's custom-loop guide does).
            logs = logs or {}
            loss = logs.get("loss", 0.0)
            if not math.isfinite(loss):
                raise TrialFailed(f"training loss became {loss} in epoch {epoch + 1}")
            started = getattr(self, "epoch_started", None) or self.last_epoch_ended
            elapsed = time.time() - started
            self.last_epoch_ended = time.time()
            self.train_seconds += elapsed - self.validation_seconds
            metrics = {name: float(value) for name, value in logs.items() if name.startswith("val_")}
            training = {name: float(value) for name, value in logs.items()
                        if not name.startswith("val_") and name != "learning_rate"}
            self.results.append(EpochResult(epoch + 1, metrics, self.train_seconds, training))
            if self.on_epoch_end_callback is not None:
                self.on_epoch_end_callback(self.results[-1])
            if self.deadline is not None:
                fitting = epoch + 1 + int(max(0.0, self.deadline - time.time()) // max(elapsed, 1e-6))
                planned = max(epoch + 1, min(self.epochs, fitting))
                if self.schedule:
                    self.schedule.total_steps = planned * self.steps_per_epoch
                if planned <= epoch + 1 and getattr(self, "_model", None) is not None:
                    self.model.stop_training = True

    return CosineSchedule, EpochProgress


def _shifted_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """A tf.data pipeline of shuffled, randomly shifted training batches, prepared in parallel with training.
    Keras' RandomTranslation does the shifting; the empty border is filled with 0 (the background)."""
    import keras
    import tensorflow as tf

    shift = keras.layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="constant",
                                           interpolation="nearest", seed=seed)
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .map(lambda images, labels: (shift(images, training=True), labels), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def user_callbacks(callbacks: Sequence, trial: int | None = None) -> list:
    """Copies of the user's callbacks for one training (Keras Tuner copies them for each trial too), a TensorBoard
    callback writing to its own folder per trial (`trial_N` under the folder the user gave)."""
    import keras

    copies = []
    for callback in callbacks:
        try:
            copied = copy.deepcopy(callback)
        except Exception:  # a callback that cannot be copied is shared, as before
            copied = callback
        if trial is not None and isinstance(copied, keras.callbacks.TensorBoard):
            copied.log_dir = f"{str(callback.log_dir).rstrip('/')}/trial_{trial}"
        copies.append(copied)
    return copies


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
