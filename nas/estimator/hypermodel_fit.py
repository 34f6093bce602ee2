"""A keras-tuner HyperModel's own `fit(hp, model, *args, **kwargs)`: the hyperparameters it declares, found on the
data, and each training done by it, called as Keras Tuner calls it.

Keras Tuner calls `hypermodel.fit(hp, model, *args, **kwargs)` with what `tuner.search` was given, its own
callbacks added; the default `fit` is `model.fit(*args, **kwargs)`. nas calls it the same way:

    fit(hp, model, x, y, validation_data=(x_validation, y_validation), epochs=E, callbacks=[...])

- `x`, `y`: a search trial's training part; in the final training, the training and validation parts together
  (validation_data is then still the validation part, so the guides' `fit(hp, model, x, y, validation_data, ...)`
  runs; its figures are not held out and nothing is selected on them). The labels are the user's, as given.
- `callbacks`: nas's epoch reporting (each epoch's figures go to Ray Tune, so a scheduler can stop the trial, and
  the final training's deadline stops it), then copies of the user's callbacks.
- nas's batch size and `verbose=0` are defaults of `model.fit` while `fit` runs, not arguments: a `fit` that passes
  its own `batch_size=hp.Choice("batch_size", ...)` replaces nas's instead of passing it twice.
- What `fit` returns counts as in Keras Tuner: a `History` (its epochs were reported as they ended), a dict of
  metrics or a float (the objective's value), reported after the epochs. Epochs whose figures lack the objective
  are progress, not a failure. nas's recipe (its augmentation, schedule) is for the models it trains itself.
- Resume: after each epoch of a model its build compiled, the trial keeps its weights and optimizer state as nas's
  own training does; an interrupted trial goes on from them, its `fit` passed `initial_epoch` (which a `fit` that
  hands **kwargs to Keras' fit honours). A model that `fit` compiles, or trains in a loop of its own, starts
  again.

Finding what `fit` declares: `build` and `fit` are called together on a slice of the data (DISCOVERY_EXAMPLES
training and validation examples) for one epoch, with keras-tuner's defaults and then random values, as
search_spaces/hypermodel.py finds build's, until DISCOVERY_QUIET_PASSES passes in a row declare nothing new (at most
DISCOVERY_SECONDS; what was found and the time it took are logged).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from nas.data.task_data import TaskData
from nas.errors import SpaceError, TrialFailed
from nas.estimator.training import EpochResult, epoch_progress_callback
from search_spaces import SearchSpace
from search_spaces.hypermodel import (HyperModelError, KerasTunerBuilder, declared_parameters, discover,
                                      hyperparameters, hypermodel_fit, known_hyperparameters)

logger = logging.getLogger(__name__)

DISCOVERY_EXAMPLES = 64
DISCOVERY_SECONDS = 60.0
DISCOVERY_QUIET_PASSES = 2  # a pass trains: fewer quiet ones than build's (whose are found by then)


def with_fit_hyperparameters(space: SearchSpace, data: TaskData, batch_size: int, seed: int = 0) -> SearchSpace:
    """`space` with the hyperparameters its HyperModel's own `fit` declares added (the same space without one)."""
    fit = hypermodel_fit(space)
    if fit is None:
        return space
    x, y = data.x_train[:DISCOVERY_EXAMPLES], data.as_given(data.y_train[:DISCOVERY_EXAMPLES])
    validation = (data.x_validation[:DISCOVERY_EXAMPLES], data.as_given(data.y_validation[:DISCOVERY_EXAMPLES]))

    def build_and_fit(hp) -> None:
        model = space.builder.build(hp)
        with nas_fit_defaults(model, batch_size):
            fit(hp, model, x, y, validation_data=validation, epochs=1, callbacks=[])

    start = time.perf_counter()
    known = known_hyperparameters(space)
    tensorflow_logger = logging.getLogger("tensorflow")
    level = tensorflow_logger.level
    tensorflow_logger.setLevel(logging.ERROR)  # its retracing warnings: each pass builds a new model on purpose
    try:
        declared = discover(space.name, build_and_fit, seed, known, DISCOVERY_SECONDS, what="fit(hp, model, ...)",
                            quiet_passes=DISCOVERY_QUIET_PASSES)
    except HyperModelError as error:  # fit fails with keras-tuner's defaults: one line, before Ray starts
        raise SpaceError(str(error)) from None
    finally:
        tensorflow_logger.setLevel(level)
    added = [name for name in declared if name not in known]
    logger.info("HyperModel.fit of %s declared %d hyperparameter(s) (%s), found in %.1f s on %d examples",
                space.name, len(added), ", ".join(added) or "none", time.perf_counter() - start, len(x))
    if not added:
        return space
    builder = KerasTunerBuilder(space.builder.build, fit, {**space.builder.defaults,
                                                           **{name: declared[name].default for name in added}})
    return SearchSpace(space.name, [*space.parameters, *declared_parameters({name: declared[name]
                                                                             for name in added})],
                       builder=builder)


@contextlib.contextmanager
def nas_fit_defaults(model, batch_size: int):
    """While it is open, `model.fit` takes nas's batch size and verbose=0 unless its caller gives its own."""
    keras_fit = model.fit

    def fit_with_defaults(*args, **kwargs):
        inputs = args[0] if args else kwargs.get("x")
        if isinstance(inputs, np.ndarray) or type(inputs).__name__ in ("EagerTensor", "Tensor"):
            kwargs.setdefault("batch_size", batch_size)  # Keras refuses a batch size beside a tf.data.Dataset
        kwargs.setdefault("verbose", 0)
        return keras_fit(*args, **kwargs)

    model.fit = fit_with_defaults
    try:
        yield model
    finally:
        del model.fit  # the model handed back keeps Keras' own fit


def fit_by_hypermodel(fit: Callable, arch_values: dict, model, x: np.ndarray, y: np.ndarray,
                      validation: tuple[np.ndarray, np.ndarray], epochs: int, batch_size: int,
                      on_epoch_end: Callable[[EpochResult], None] | None, objective_metric: str | None,
                      callbacks: Sequence = (), deadline: float | None = None, initial_epoch: int = 0,
                      train_seconds: float = 0.0) -> list[EpochResult]:
    """Train `model` with the HyperModel's `fit`, reporting each epoch to `on_epoch_end` and then what `fit`
    returned (a dict or a float holding the objective); returns the results reported. `initial_epoch` (a resumed
    trial's, with the `train_seconds` spent before it) is passed on as Keras' fit takes it."""
    import keras

    progress = epoch_progress_callback(on_epoch_end, deadline, epochs)
    progress.train_seconds = train_seconds
    resumed = {"initial_epoch": initial_epoch} if initial_epoch else {}
    with nas_fit_defaults(model, batch_size):
        try:
            returned = fit(hyperparameters(arch_values), model, x, y, validation_data=validation, epochs=epochs,
                           callbacks=[progress, *callbacks], **resumed)
        except HyperModelError as error:
            raise TrialFailed(str(error)) from error
    results = progress.results
    if returned is None or isinstance(returned, keras.callbacks.History) or objective_metric is None:
        return results
    metrics = _returned_metrics(returned, objective_metric)
    last = results[-1] if results else EpochResult(epochs, {}, progress.train_seconds)
    result = EpochResult(last.epoch, {**last.metrics, **metrics}, last.train_seconds, last.training_metrics)
    if on_epoch_end is not None:
        on_epoch_end(result)
    return [*results, result]


def accepts_initial_epoch(fit: Callable) -> bool:
    """Whether a HyperModel's fit takes `initial_epoch` (by name, or in its **kwargs, to pass on to Keras' fit)."""
    parameters = inspect.signature(fit).parameters.values()
    return any(parameter.kind is parameter.VAR_KEYWORD or parameter.name == "initial_epoch"
               for parameter in parameters)


def _returned_metrics(returned: Any, objective_metric: str) -> dict[str, float]:
    if isinstance(returned, dict):
        try:
            metrics = {str(name): float(value) for name, value in returned.items()}
        except (TypeError, ValueError):
            raise TrialFailed(f"HyperModel.fit returned a dict whose values are not all numbers: "
                              f"{str(returned)[:200]}") from None
        # Keras Tuner looks the objective up under the name it was given (a custom loop's `my_metric`); a dict of
        # Keras' logs (it holds `loss`) gives its validation figures only, as evaluator.objective_figures reads.
        bare = objective_metric.removeprefix("val_")
        if objective_metric not in metrics and bare in metrics and "loss" not in metrics:
            metrics[objective_metric] = metrics[bare]
        return metrics
    if isinstance(returned, (int, float, np.floating, np.integer)) and not isinstance(returned, bool):
        return {objective_metric: float(returned)}
    raise TrialFailed(f"HyperModel.fit returned {type(returned).__name__}; expected a keras History, a dict of "
                      "metrics or a float, as Keras Tuner does")


def averaged_over_executions(earlier: list[list[EpochResult]], result: EpochResult, position: int) -> EpochResult:
    """`result` (the `position`-th the last execution of a trial reported: an epoch, or what its fit returned)
    with each metric averaged over the executions' results at that place, as Keras Tuner averages
    `executions_per_trial`."""
    same_epoch = [results[min(position, len(results) - 1)] for results in earlier if results]

    def mean(name: str, values: dict, pick: Callable[[EpochResult], dict]) -> float:
        found = [pick(other)[name] for other in same_epoch if name in pick(other)] + [values[name]]
        return float(math.fsum(found) / len(found))

    return EpochResult(result.epoch, {name: mean(name, result.metrics, lambda other: other.metrics)
                                      for name in result.metrics},
                       result.train_seconds,
                       {name: mean(name, result.training_metrics, lambda other: other.training_metrics)
                        for name in result.training_metrics})
