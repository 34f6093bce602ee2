"""What runs on a Ray worker: one search trial (a Tune function trainable) and the final training of a winner.

TensorFlow reads its thread counts once, at import, so they are set in the environment before the first
import in each worker process (STACK-NOTES.md). Workers are reused between trials (`reuse_actors`), so each
trial starts by clearing the previous trial's Keras graph.
"""
from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass

from nas.estimator import EpochResult, TrainingRecipe, TrialFailed, build_model, evaluate_accuracy, measure_cost, train
from nas.flops import count_flops
from nas.objectives import Objective
from search_spaces import SearchSpace


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of a search shares; shipped to the workers once with the data."""

    space: SearchSpace
    recipe: TrainingRecipe
    threads: int
    seed: int
    objective: Objective = Objective()
    deadline: float | None = None  # a time.time() the final training fits its epochs before


@dataclass(frozen=True)
class FinalEvaluation:
    trial: int
    test_accuracy: float
    train_seconds: float
    cpu_seconds: float  # the CPUs Ray assigned to the task times its wall time, as for search trials
    gpu_seconds: float
    epochs: int  # trained: the recipe's, or fewer when they did not fit before the deadline


def prepare_tensorflow(threads: int) -> None:
    """Thread counts and GPU memory growth must be set before TensorFlow runs its first op in this process."""
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


def worker_location() -> dict[str, str]:
    import ray

    return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname()}


def run_search_trial(config: dict, data, settings: TrialSettings) -> None:
    """Tune trainable: score `config["arch"]`, reporting validation accuracy after every epoch."""
    from ray import tune

    location = worker_location()
    try:
        prepare_tensorflow(settings.threads)
        arch = settings.space.validate(config["arch"])
        model = build_model(settings.space, arch, data.input_shape, data.num_classes,
                            seed=settings.seed + config["trial"])
        # Too many parameters is known from the build: no latency measurement for a model that will not train.
        params = model.count_params()
        over_limit = settings.objective.violation(params, latency_ms=None)
        if over_limit:
            tune.report({"trial": config["trial"], "error": over_limit, "over_limit": True,
                         "params": params, "flops": count_flops(model), **location})
            return
        cost = measure_cost(model, data.input_shape)
        measured = cost.metrics()  # params, flops, latency_ms; latency_batch_ms/_batch_size/_device/_threads
        over_limit = settings.objective.violation(cost.params, cost.latency_ms)
        if over_limit:
            tune.report({"trial": config["trial"], "error": over_limit, "over_limit": True, **measured, **location})
            return

        def report(result: EpochResult) -> None:
            if not math.isfinite(result.accuracy):
                raise TrialFailed(f"validation accuracy is {result.accuracy} after epoch {result.epoch}")
            reward = settings.objective.reward(result.accuracy, cost.latency_ms, cost.params)
            tune.report({"trial": config["trial"], "epoch": result.epoch, "epochs_planned": settings.recipe.epochs,
                         "validation_accuracy": result.accuracy, "reward": reward,
                         "train_seconds": result.train_seconds, **measured, **location})

        train(model, data.x_train, data.y_train, settings.recipe, held_out=(data.x_validation, data.y_validation),
              seed=settings.seed + config["trial"], on_epoch_end=report)
    except Exception as error:  # any failure is the trial's, recorded with its reason; the search goes on
        reason = str(error) if isinstance(error, TrialFailed) else f"{type(error).__name__}: {error}"
        tune.report({"trial": config["trial"], "error": reason.strip().splitlines()[0][:500], **location})


def run_final_training(trial: int, arch_values: dict, data, settings: TrialSettings) -> FinalEvaluation:
    """Retrain an architecture on training + validation data, then measure it once on the test set."""
    import numpy as np
    import ray

    task_started = time.perf_counter()
    prepare_tensorflow(settings.threads)
    arch = settings.space.validate(arch_values)
    model = build_model(settings.space, arch, data.input_shape, data.num_classes, seed=settings.seed + trial)
    x_train = np.concatenate([data.x_train, data.x_validation])
    y_train = np.concatenate([data.y_train, data.y_validation])
    start = time.perf_counter()
    epochs = train(model, x_train, y_train, settings.recipe, seed=settings.seed + trial, deadline=settings.deadline)
    train_seconds = time.perf_counter() - start
    test_accuracy = evaluate_accuracy(model, data.x_test, data.y_test)
    busy_seconds = time.perf_counter() - task_started
    resources = ray.get_runtime_context().get_assigned_resources()
    return FinalEvaluation(trial, test_accuracy, train_seconds, cpu_seconds=resources.get("CPU", 0.0) * busy_seconds,
                           gpu_seconds=resources.get("GPU", 0.0) * busy_seconds, epochs=len(epochs))
