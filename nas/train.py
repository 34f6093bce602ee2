"""`nas.train(...)`: one architecture's trained model, and its figures.

- A stored trial (`trial="RUN:N"`) that the search's final training kept: its saved model, loaded as it is, with the
  figures stored when it was tested (the test part is touched once per model). `retrain=True` trains it again
  the way the final training did (its recipe, epochs and seed; nas/estimator/evaluator.py), and tests that new
  model once.
- An architecture file (`{"space": ..., "arch": {...}}`, the space a built-in name or package.module:attribute) or
  one of the seed lecture's models (`reference="lenet"`, with the lecture's recipe): trained on the training and
  validation parts together, then tested once.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nas import _call_module_as
from nas.data.importing import import_reference
from nas.data.sources import VALIDATION_FRACTION, data_source, load_data, stored_data_source
from nas.data.task_data import Task, prepare
from nas.errors import RunError, SettingError
from nas.estimator.evaluator import EvaluationSettings, Evaluator, model_input_shape
from nas.estimator.hypermodel_fit import with_fit_hyperparameters
from nas.estimator.lecture_models import REFERENCES
from nas.estimator.objectives import Objective
from nas.estimator.recipe import Augment, Optimizer, Recipe, Schedule
from nas.estimator.training import EpochResult
from nas.runner.run_files import load_model
from nas.settings import checks
from nas.settings.inputs import resolve_space
from nas.settings.search_config import DEFAULT_OUTPUT, SearchConfig
from results import ResultStore, TrialRecord
from search_spaces import Architecture, InvalidArchitectureError

# An architecture file trains like the lecture's CNN: Adam, batch 128, 20 epochs (`epochs` changes it).
ARCH_FILE_RECIPE = Recipe(optimizer=Optimizer.ADAM, learning_rate=1e-3, batch_size=128, epochs=20)


@dataclass(frozen=True)
class TrainedModel:
    model: Any  # the keras.Model
    figures: dict  # what `python -m nas.train --json` prints


def train(arch_file: str | None = None, *, trial: str | None = None, reference: str | None = None,
          retrain: bool = False, dataset: str | None = None, data: Any = None, epochs: int | None = None,
          train_subset: int | None = None, lr_schedule: str | None = None, augment: str | None = None,
          learning_rate: float | None = None, batch_size: int | None = None, seed: int | None = None,
          save: str | None = None, tflite: str | None = None, storage: str | None = None,
          output: str = DEFAULT_OUTPUT, on_epoch_end: Callable[[EpochResult], None] | None = None) -> TrainedModel:
    """Load or train one architecture (see the module's docstring); `save` writes the model as .keras, `tflite`
    exports it for TensorFlow Lite, checked against the Keras model."""
    sources = [name for name, value in (("arch_file", arch_file), ("trial", trial), ("reference", reference))
               if value is not None]
    if len(sources) != 1:
        raise SettingError(None, f"Expected exactly one of arch_file, trial or reference. Received: "
                                 f"{', '.join(sources) or 'none'}")
    for option, path, suffix in (("save", save, ".keras"), ("tflite", tflite, ".tflite")):
        if path is not None:
            _check_writable(option, path, suffix)
    for option, value, check in (("epochs", epochs, checks.integer(1)), ("train_subset", train_subset,
                                                                        checks.integer(1)),
                                  ("batch_size", batch_size, checks.integer(1)), ("seed", seed, checks.integer(0)),
                                  ("learning_rate", learning_rate, checks.positive_number)):
        try:
            checks.optional(check)(value)
        except ValueError as error:
            raise SettingError(option, str(error)) from None
    changes = {"epochs": epochs, "schedule": lr_schedule, "augment": augment, "learning_rate": learning_rate,
               "batch_size": batch_size}
    changes = {name: value for name, value in changes.items() if value is not None}
    if trial is not None and not retrain:
        # Data is only read to check a TFLite export's predictions (a run given arrays in Python needs them again).
        moot = [("dataset", dataset), ("data", data)] if tflite is None else []
        asked = [name for name, value in (*moot, ("train_subset", train_subset), ("seed", seed), *changes.items())
                 if value is not None]
        if asked:
            raise SettingError(asked[0], "changes how a stored trial would be trained again; its saved model is "
                                         "loaded as it is. Expected retrain=True (--retrain) with it")
        trained = _stored_model(trial, storage, output, tflite is not None, dataset, data)
    else:
        trained = _train(arch_file, trial, reference, dataset, data, train_subset, changes, seed, storage, output,
                         on_epoch_end)
    model, figures, check_inputs = trained
    if save:
        model.save(save)
    if tflite:
        from nas.estimator.tflite import TFLITE_CHECK_IMAGES, export_tflite

        export_tflite(model, tflite, check_inputs[:TFLITE_CHECK_IMAGES])
    return TrainedModel(model, {**figures, "saved": save, "tflite": tflite})


def parse_trial(text: str) -> tuple[str, int]:
    run, separator, number = text.rpartition(":")
    if not separator or not run or not number.isdigit():
        raise SettingError("trial", f"expected RUN:N (a run name and a trial number), received {text!r}")
    return run, int(number)


def _stored(trial: str, storage: str | None, output: str) -> tuple[SearchConfig, TrialRecord, Any]:
    from nas.settings.search_config import storage_url

    run_name, number = parse_trial(trial)
    with ResultStore(storage_url(storage, output), read_only=True) as store:
        run, record = store.get_run(run_name), store.get_trial(run_name, number)
    if run is None or record is None:
        raise RunError(f"No trial {trial!r} in the store. Expected a RUN:N listed by nas.leaderboard")
    return SearchConfig.from_dict(run.config), record, run


def _stored_model(trial: str, storage: str | None, output: str, need_inputs: bool, dataset: str | None, data: Any):
    config, record, run = _stored(trial, storage, output)
    if record.model_path is None:
        raise RunError(f"Trial {trial} has no saved model: only the final training's top-k are kept. Expected "
                       "retrain=True (--retrain) to train it now")
    model = load_model(record.model_path, f"trial {trial}")
    inputs = _data(config, dataset, data).x_validation if need_inputs else None
    figures = {"trial": trial, "arch": record.arch_key, "space": run.space, "dataset": run.dataset,
               "retrained": False, "validation_accuracy": record.validation_accuracy,
               "test_accuracy": record.test_accuracy, "validation_score": record.score,
               "test_score": record.test_score, "test_metrics": record.test_metrics, "params": record.params,
               "flops": record.flops, "latency_ms": record.latency_ms, "latency_batch_ms": record.latency_batch_ms,
               "latency_batch_size": record.latency_batch_size, "latency_device": record.latency_device,
               "latency_threads": record.latency_threads, "epochs": record.final_epochs,
               "seed": record.final_seed, "model_path": record.model_path}
    return model, figures, inputs


def _data(config: SearchConfig | None, dataset: str | None, data: Any):
    """The data a stored run searched (or the data asked for), split as the search split it."""
    if config is None:
        return load_data(data, dataset)
    source = stored_data_source(config.data, config.dataset, "nas.train(trial=..., data=...)") \
        if dataset is None and data is None else data_source(data, dataset)
    return prepare(source.load(), source.name, config.task, config.num_classes, config.seed, VALIDATION_FRACTION)


def _train(arch_file, trial, reference, dataset, data, train_subset, changes, seed_given, storage, output,
           on_epoch_end):
    train_fn = None
    if reference is not None:
        if reference not in REFERENCES:
            raise SettingError("reference", f"expected one of {', '.join(REFERENCES)}, received {reference!r}")
        known = REFERENCES[reference]
        space, arch, recipe, seed, number = resolve_space(known.space).space, known.arch, known.recipe, 0, 0
        config, objective = None, Objective()
    elif trial is not None:
        config, record, _ = _stored(trial, storage, output)
        space = resolve_space(config.space).space
        arch = record.arch  # checked once the space is whole: a HyperModel's fit declares more on the data
        recipe = config.recipe(final=True)
        if record.final_epochs:  # retrain as the final training did, with the epochs it fitted to its budget
            recipe = dataclasses.replace(recipe, epochs=record.final_epochs)
        number, seed = record.number, config.seed
        objective = config.objective_spec
        train_fn = import_reference(config.train_fn, "train_fn", RunError) if config.train_fn else None
    else:
        space, arch = _arch_from_file(arch_file)
        recipe, seed, number, config, objective = ARCH_FILE_RECIPE, 0, 0, None, Objective()
    if changes:
        recipe = dataclasses.replace(recipe, **{key: _enum(key, value) for key, value in changes.items()})
    seed = seed if seed_given is None else seed_given
    task_data = _data(config, dataset, data).training_subset(train_subset, 0)
    if config is not None:
        space = with_fit_hyperparameters(space, task_data, config.batch_size, config.seed)
        arch = space.validate(arch)
    if config is None and task_data.task == Task.REGRESSION:
        objective = Objective.from_settings(None, None, Task.REGRESSION)
    settings = EvaluationSettings(space, recipe, objective, task_data.task, threads=os.cpu_count() or 1, seed=seed,
                                  train_fn=train_fn)
    trained = Evaluator(settings).train_final(number, dict(arch), task_data, on_epoch_end)
    model = _model_from_bytes(trained.model)
    from nas.estimator.cost import measure_cost

    cost = measure_cost(model, model_input_shape(model, task_data.input_shape))
    metrics = trained.test_metrics
    figures = {"trial": trial, "arch": arch.key, "space": space.name, "dataset": task_data.name,
               "retrained": trial is not None, "validation_accuracy": None,
               "test_accuracy": metrics.get("accuracy"), "test_metrics": metrics, **cost.metrics(),
               "train_seconds": trained.train_seconds, "epochs": trained.epochs, "seed": trained.seed}
    return model, figures, task_data.x_validation


def _enum(key: str, value: Any) -> Any:
    kinds = {"schedule": Schedule, "augment": Augment}
    try:
        return kinds[key](value) if key in kinds else value
    except ValueError:
        raise SettingError(key, f"expected one of {', '.join(m.value for m in kinds[key])}, received {value!r}") \
            from None


def _arch_from_file(path: str):
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise SettingError(None, f"Cannot read architecture file {path!r} ({reason}). Expected a readable JSON "
                                 "file") from None
    parsed = Architecture.from_json(text)
    space = resolve_space(parsed.space).space
    try:
        return space, space.validate(parsed.to_dict())
    except InvalidArchitectureError as error:
        raise SettingError(None, f"{path}: {error}") from None


def _model_from_bytes(content: bytes):
    import keras

    with tempfile.TemporaryDirectory(prefix="nas-model-") as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(content)
        return keras.saving.load_model(path, safe_mode=True)


def _check_writable(option: str, path: str, suffix: str) -> None:
    if not str(path).endswith(suffix):
        raise SettingError(option, f"expected a {suffix} file, received {path!r}")
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SettingError(option, f"cannot write {path!r}: folder {str(folder)!r} does not exist or is not writable")

_call_module_as(__name__, train)

if __name__ == "__main__":  # `python -m nas.train`: the command line (nas/commands/train.py)
    from nas.commands.train import main

    raise SystemExit(main())
