"""Builds, trains and scores one architecture, knowing nothing of Ray (nas/runner wraps it as a Ray Tune trial).

A search trial builds the model with its seed, records its layers, measures its cost (parameters, FLOPs, latency;
they do not depend on the weights, so before training) and stops there if the model breaks a hard limit; then it
trains on the training part and reports the validation metrics and the objective's score after every epoch.
Anything that goes wrong (a builder that raises or returns something else than a Keras model, an architecture too
deep for the input, a NaN loss, a train_fn that never reports, out of memory) is reported as the trial's error, in
one line, and the search goes on.

The final training of a winner trains the same way, with its own seed, on the training and validation parts
together, is tested once on the test part, and hands back the trained model as a `.keras` file's bytes.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from nas.data.task_data import Task, TaskData
from nas.errors import TrialFailed
from nas.estimator.cost import measure_cost
from nas.estimator.flops import count_flops
from nas.estimator.footprint import built_layers, footprint, memory_violation, worker_data_bytes
from nas.estimator.layer_summary import layer_summary
from nas.estimator.objectives import Objective
from nas.estimator.recipe import Recipe
from nas.estimator.hypermodel_fit import accepts_initial_epoch, averaged_over_executions, fit_by_hypermodel
from nas.estimator.training import (EpochResult, TrainingData, evaluate, one_line, restore_training_state,
                                    save_training_state, train, train_with_function, user_callbacks)
from search_spaces import Architecture, SearchSpace
from search_spaces.hypermodel import hypermodel_fit

# report(figures, save_state=None): called after every epoch; `save_state(folder)` writes the training state there,
# for the caller to keep as the trial's checkpoint (nas/runner/tune.py hands it to Ray Tune).
Report = Callable[..., None]
EXECUTION_SEED_STEP = 7919  # a trial's later executions start from seeds this far apart (a prime: no collisions)


class ArchitectureDoesNotFit(TrialFailed):
    """The architecture cannot be built for this data (e.g. more pooling than the image has pixels)."""


@dataclass(frozen=True)
class EvaluationSettings:
    """What every evaluation of a search shares; shipped to Ray's workers once, with the data."""

    space: SearchSpace
    recipe: Recipe
    objective: Objective
    task: Task
    threads: int
    seed: int
    train_fn: Callable | None = None  # train_fn(model, data, report) instead of Keras' fit
    callbacks: tuple = ()  # the user's Keras callbacks, passed to every fit
    deadline: float | None = None  # a time.time() the final training fits its epochs before
    memory_limit: int | None = None  # bytes a search trial may take (nas/runner/memory_limit.py)
    executions: int = 1  # trainings per search trial, their figures averaged (Keras Tuner's executions_per_trial)


@dataclass(frozen=True)
class FinalTraining:
    """A winner trained on training + validation data and tested once."""

    trial: int
    seed: int
    epochs: int | None  # trained: the recipe's, fewer under a deadline; None when a train_fn reported none
    train_seconds: float
    test_metrics: dict  # Keras' evaluate on the test part ({} without one): loss, accuracy, ...
    model: bytes  # the trained model as a .keras file


def prepare_tensorflow(threads: int) -> None:
    """Thread counts and GPU memory growth must be set before TensorFlow runs its first op in this process (they
    are read once: STACK-NOTES.md). Workers are reused between trials, so the previous graph is cleared."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:  # lets trials with fractional GPUs share one device
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised by an earlier trial in this process: growth is already set
            pass
    import keras

    keras.backend.clear_session()


def build_model(space: SearchSpace, arch: Architecture, input_shape: Sequence[int], num_outputs: int,
                task: Task = Task.CLASSIFICATION, seed: int = 0):
    """The architecture's Keras model, its initial weights drawn from `seed` (Python, numpy and TF seeded)."""
    import keras

    keras.utils.set_random_seed(seed)
    try:
        model = space.build(arch, input_shape, num_outputs, task=Task(task).value)
    except TrialFailed:  # e.g. out of memory while it built (nas/runner/memory_guard.py): said as it is
        raise
    except Exception as error:  # a builder's error is the architecture's fault, not the search's
        raise ArchitectureDoesNotFit(f"cannot build {arch.key} for input {tuple(input_shape)}: "
                                     f"{one_line(error)}") from error
    if not isinstance(model, keras.Model):
        raise ArchitectureDoesNotFit(f"the builder of space {space.name!r} returned {type(model).__name__} for "
                                     f"{arch.key}; expected a keras.Model")
    if not model.built:  # e.g. keras.Sequential() without keras.Input: Keras builds it on its first batch
        try:
            model.build((None, *input_shape))
        except Exception as error:
            raise ArchitectureDoesNotFit(f"cannot build {arch.key} for input {tuple(input_shape)}: "
                                         f"{one_line(error)}") from error
    return model


def model_input_shape(model, data_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of one example the model is measured on: its own input's where it has one, fully known;
    otherwise the data's."""
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) == 1:
        shape = tuple(inputs[0].shape)[1:]
        if shape and all(isinstance(size, int) for size in shape):
            return shape
    return tuple(data_shape)


def objective_figures(objective: Objective, result: EpochResult) -> dict | None:
    """The epoch's validation metrics with the objective's metric in them, or None where the epoch lacks it. A
    metric a training loop of the user's reports under the objective's own name (keras-tuner's custom-loop guide
    reports `my_metric`) counts as it; the training metrics of a Keras fit (which always logs `loss`) never do."""
    metric = objective.metric
    if metric in result.metrics:
        return result.metrics
    bare = metric.removeprefix("val_")
    if bare in result.training_metrics and "loss" not in result.training_metrics:
        return {**result.metrics, metric: result.training_metrics[bare]}
    return None


class Evaluator:
    def __init__(self, settings: EvaluationSettings):
        self.settings = settings

    def evaluate(self, trial: int, arch_values: dict, data: TaskData, report: Report,
                 resume_from: Path | None = None) -> None:
        """Score one architecture on `data`'s training and validation parts, calling `report` with a dict after
        every epoch (or once, with "error", when it fails). With `resume_from` (a training state an earlier
        attempt of the trial saved), training goes on after its epoch (a HyperModel's fit is passed
        initial_epoch); a train_fn trial starts again."""
        settings, objective = self.settings, self.settings.objective
        figures: dict = {"trial": trial}
        try:
            prepare_tensorflow(settings.threads)
            arch = settings.space.validate(arch_values)
            recipe = settings.recipe.for_architecture(arch)
            model = build_model(settings.space, arch, data.input_shape, data.num_outputs, settings.task,
                                seed=settings.seed + trial)
            figures.update(layers=layer_summary(model), params=int(model.count_params()))
            # Too many parameters or too much memory is known from the build: no latency measurement for a model
            # that will not train. (The built-in spaces were counted in the driver; a user's is counted here.)
            over_limit = objective.violation(figures["params"], latency_ms=None) or self._memory_violation(
                model, data, recipe)
            if over_limit:
                report({**figures, "error": over_limit, "over_limit": True, "flops": count_flops(model)})
                return
            cost = measure_cost(model, model_input_shape(model, data.input_shape))
            figures.update(cost.metrics())
            over_limit = objective.violation(cost.params, cost.latency_ms)
            if over_limit:
                report({**figures, "error": over_limit, "over_limit": True})
                return
            own_fit = hypermodel_fit(settings.space)
            earlier: list[list[EpochResult]] = []  # the results of the trial's earlier executions
            position = iter(range(10**9))  # the place of each result reported by the last execution

            def epoch_ended(result: EpochResult) -> None:
                if earlier:
                    result = averaged_over_executions(earlier, result, next(position))
                metrics = objective_figures(objective, result)
                if metrics is None:
                    if own_fit is not None:  # progress: its fit reports the objective later, or returns it
                        return
                    raise TrialFailed(f"the training reported {', '.join(result.metrics) or 'no metrics'}; the "
                                      f"objective {objective.metric} is not among them")
                score = objective.score(metrics, cost.latency_ms, cost.params)
                if not math.isfinite(score):
                    raise TrialFailed(f"{objective.metric} is {score} after epoch {result.epoch}")
                # Nothing to go on from after the last epoch, nor in a train_fn's loop, nor in a HyperModel's
                # fit whose model has no optimizer yet (compiled by fit, if at all), nor in one of several
                # executions (each starts afresh).
                last = settings.train_fn is not None or settings.executions > 1 or result.epoch >= recipe.epochs \
                    or (own_fit is not None and not model.compiled)
                save_state = None if last else (
                    lambda folder: save_training_state(model, folder, result.epoch, result.train_seconds))
                report({**figures, **metrics, "epoch": result.epoch,
                        "epochs_planned": None if settings.train_fn or own_fit else recipe.epochs,
                        "validation_accuracy": metrics.get("val_accuracy"), "score": score,
                        "reward": objective.reward(score), "train_seconds": result.train_seconds,
                        "training_metrics": result.training_metrics},
                       save_state=save_state)

            reported, results = False, []
            for execution in range(settings.executions):
                if execution:  # Keras Tuner builds each execution afresh: new initial weights
                    earlier.append(results)
                    model = build_model(settings.space, arch, data.input_shape, data.num_outputs, settings.task,
                                        seed=settings.seed + trial + EXECUTION_SEED_STEP * execution)
                silent = execution < settings.executions - 1
                results = self._fit(model, arch, data, recipe, trial, None if silent else epoch_ended,
                                    None if execution else resume_from)
                reported = reported or not silent and any(
                    objective_figures(objective, result) is not None for result in results)
            if own_fit is not None and not reported:
                raise TrialFailed(f"HyperModel.fit reported no {objective.metric} in its epochs and returned none; "
                                  f"expected it in the epochs' logs, or a float or dict returned by fit")
        except Exception as error:  # any failure is the trial's, recorded with its reason; the search goes on
            reason = str(error) if isinstance(error, TrialFailed) else one_line(error)
            report({**figures, "error": reason.strip().splitlines()[0][:500] if reason.strip() else "failed"})

    def _fit(self, model, arch: Architecture, data: TaskData, recipe: Recipe, trial: int,
             epoch_ended: Callable[[EpochResult], None] | None, resume_from: Path | None) -> list[EpochResult]:
        """One training of a search trial, on the training part, validated on the validation part."""
        settings = self.settings
        validation = (data.x_validation, data.as_given(data.y_validation))
        callbacks = user_callbacks(settings.callbacks, trial)
        own_fit = hypermodel_fit(settings.space)
        if settings.train_fn is not None:
            return train_with_function(settings.train_fn, model,
                                       self._training_data(data, arch, recipe, trial, final=False), epoch_ended)
        if own_fit is not None:
            first_epoch, train_seconds = 0, 0.0
            if resume_from is not None and model.compiled and accepts_initial_epoch(own_fit):
                first_epoch, train_seconds = restore_training_state(model, resume_from)
            return fit_by_hypermodel(own_fit, dict(arch), model, data.x_train, data.as_given(data.y_train),
                                     validation, recipe.epochs, recipe.batch_size, epoch_ended,
                                     settings.objective.metric, callbacks, initial_epoch=first_epoch,
                                     train_seconds=train_seconds)
        return train(model, data.x_train, data.as_given(data.y_train), recipe, settings.task, held_out=validation,
                     seed=settings.seed + trial, on_epoch_end=epoch_ended, callbacks=callbacks,
                     resume_from=resume_from)

    def _memory_violation(self, model, data: TaskData, recipe: Recipe) -> str | None:
        """Why the built model would take more memory than a trial may, estimated from its layers' shapes; None
        without a limit or for a space the driver already counted (nas/estimator/footprint.py)."""
        limit = self.settings.memory_limit
        if limit is None or self.settings.space.counts_layers:
            return None
        needs = footprint(built_layers(model), math.prod(model_input_shape(model, data.input_shape)), recipe)
        return memory_violation(needs, worker_data_bytes(data), limit)

    def train_final(self, trial: int, arch_values: dict, data: TaskData,
                    on_epoch_end: Callable[[EpochResult], None] | None = None) -> FinalTraining:
        """Train on training + validation data (with the deadline's fitting of epochs), test once, keep the model."""
        settings = self.settings
        prepare_tensorflow(settings.threads)
        arch = settings.space.validate(arch_values)
        recipe = settings.recipe.for_architecture(arch)
        seed = settings.seed + trial
        model = build_model(settings.space, arch, data.input_shape, data.num_outputs, settings.task, seed=seed)
        x, y = data.training_and_validation()
        y = data.as_given(y)
        start = time.perf_counter()
        own_fit = hypermodel_fit(settings.space)
        if settings.train_fn is not None:
            results = train_with_function(settings.train_fn, model,
                                          self._training_data(data, arch, recipe, trial, final=True),
                                          on_epoch_end, must_report=False)
        elif own_fit is not None:
            results = fit_by_hypermodel(own_fit, dict(arch), model, x, y,
                                        (data.x_validation, data.as_given(data.y_validation)), recipe.epochs,
                                        recipe.batch_size, on_epoch_end, None, user_callbacks(settings.callbacks),
                                        settings.deadline)
        else:
            results = train(model, x, y, recipe, settings.task, seed=seed, on_epoch_end=on_epoch_end,
                            deadline=settings.deadline, callbacks=user_callbacks(settings.callbacks))
        train_seconds = time.perf_counter() - start
        test_metrics = evaluate(model, data.x_test, data.as_given(data.y_test), recipe, settings.task) \
            if data.has_test else {}
        return FinalTraining(trial, seed, len(results) or None, train_seconds, test_metrics, model_bytes(model))

    def _training_data(self, data: TaskData, arch: Architecture, recipe: Recipe, trial: int,
                       final: bool) -> TrainingData:
        if final:
            x, y = data.training_and_validation()
            return TrainingData(x, data.as_given(y), None, None, dict(arch), recipe, self.settings.task,
                                data.num_outputs, self.settings.seed + trial)
        return TrainingData(data.x_train, data.as_given(data.y_train), data.x_validation,
                            data.as_given(data.y_validation), dict(arch), recipe,
                            self.settings.task, data.num_outputs, self.settings.seed + trial)


def model_bytes(model) -> bytes:
    """The model as a .keras file (Keras' own format), so it can travel from a worker to the driver."""
    with tempfile.TemporaryDirectory(prefix="nas-model-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()
