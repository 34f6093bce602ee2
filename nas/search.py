"""`nas.search(...)`: search a space with a strategy on Ray Tune, store every trial, hand back a `SearchResult`.
`python -m nas.search` (nas/commands/search.py) calls it and prints what it returns.

Every setting of nas/settings/search_config.py is a keyword of the same name as its command-line flag (`time_budget` is
`--time-budget`); the objects only Python can pass (arrays, a tf.data.Dataset, a SearchSpace, a keras-tuner build
function, callbacks, a train_fn) are keywords too.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import logging
import os
import re
from collections import Counter
from typing import Any, Callable

from nas import _call_module_as
from nas.data.importing import defining_module, import_reference, placeholder, reference_of
from nas.data.sources import DataSource, data_source, stored_data_source
from nas.errors import SearchFailedError, SettingError
from nas.result import SearchResult
from nas.runner.experiment import default_run_name, run_search, stored_run
from nas.runner.run_files import write_run_for_tensorboard, write_run_report
from nas.settings import checks
from nas.settings.inputs import SearchInputs, resolve_space
from nas.settings.search_config import (DEFAULT_JUDGED_CHILDREN, DEFAULT_OUTPUT, SearchConfig, resumable_settings,
                                        storage_url)
from results import ResultStore, TrialStatus

logger = logging.getLogger(__name__)

SETTINGS = tuple(field.name for field in dataclasses.fields(SearchConfig))
# Keywords whose value may be an object; the config keeps a reference to it.
_OBJECT_SETTINGS = ("space", "data", "train_fn")


def search(space: Any = None, *, validation_data: Any = None, test_data: Any = None, callbacks: Any = None,
           storage: str | None = None, name: str | None = None, resume: bool = False, progress: Any = True,
           **settings: Any) -> SearchResult:
    """Search `space` (default: cnn) with the settings given, on Ray Tune, storing every trial; returns the result.

    space: a built-in space's name ("mlp", "cnn"), a search_spaces.SearchSpace, "package.module:attribute", or a
        keras-tuner build(hp) function or keras_tuner.HyperModel (a HyperModel's own fit trains its trials, as
        Keras Tuner calls it: nas/estimator/hypermodel_fit.py). nas.tuner holds Keras Tuner's tuners on nas.
    data: (x, y) arrays (labels as class indices, one-hot rows, or a regression's targets; models are fed them as
        given), a dict of x_train, y_train, ..., a tf.data.Dataset, a .npz path, or a function returning
        one of these (called in each worker, so the data never travels); `dataset` names a known one instead.
    validation_data, test_data: (x, y) or a tf.data.Dataset; without validation data, 10% of the training data.
    callbacks: Keras callbacks for every training; train_fn(model, data, report): your own training loop.
    storage, name, resume: the store (default: SQLite under `output`), the run's name, continue the run `name`.
    progress: True draws progress on the terminal or in the notebook; False draws none; or a nas.SearchObserver
        of your own.
    Every other keyword is a setting of nas.settings.SearchConfig (trials, time_budget, epochs, strategy, ...).
    """
    _check_keywords(settings)
    if name is not None:
        try:
            checks.run_name(name)
        except ValueError as error:
            raise SettingError("name", str(error)) from None
    if space is not None:
        settings["space"] = space
    output = settings.get("output", DEFAULT_OUTPUT)
    store = ResultStore(storage_url(storage, output))
    try:
        config, inputs = prepare_search(settings, store, name, resume, validation_data, test_data, callbacks)
        name = name or default_run_name(inputs.space.name, config.strategy)
        from nas.runner.progress import SearchObservers, TensorBoardWriter, search_observer

        observer = search_observer(progress)
        if config.tensorboard:
            observer = SearchObservers([observer, TensorBoardWriter(config.tensorboard)])
        try:
            summary = run_search(config, inputs, store, name, resume, observer)
        finally:
            observer.close()
        report = write_run_report(store, summary.run, config.output_path)
        tensorboard = write_run_for_tensorboard(store, summary.run, config.tensorboard) if config.tensorboard \
            else None
        if summary.best is None and config.time_budget is not None and (summary.trials_stopped
                                                                         or not summary.trials_failed):
            raise _out_of_time(config.time_budget, summary)
        if summary.best is None and summary.trials_failed:
            raise _every_trial_failed(store, summary.run, report)
        return SearchResult(summary, storage_url(storage, output), report, tensorboard and str(tensorboard))
    finally:
        store.close()


def _out_of_time(budget: float, summary) -> SearchFailedError:
    """A time budget that ended before any trial had a score: its trials were stopped (or never began), which is
    not the same as failing, and more time is the remedy."""
    counts = [f"{count} {what}" for count, what in ((summary.trials_stopped, "stopped"),
                                                       (summary.trials_failed, "failed")) if count]
    return SearchFailedError(summary.run, f"The time budget ({budget:.0f} s) ran out before any trial of run "
                                          f"{summary.run} finished its first epoch ({', '.join(counts) or 'none began'})"
                                          f": there is no model. Give it more time: --resume (resume=True) goes on "
                                          f"with the stored run under a new --time-budget")


def _every_trial_failed(store: ResultStore, run: str, report: str | None) -> SearchFailedError:
    """Why a search found nothing: its trials' most common error (numbers aside), and where the rest are."""
    errors = [" ".join((trial.error or "no reason recorded").split()) for trial in store.trials(run)
              if trial.status is TrialStatus.FAILED]
    kind_of = {error: re.sub(r"\d[\d,.]*", "#", error) for error in errors}
    kind, count = Counter(kind_of[error] for error in errors).most_common(1)[0]
    example = next(error for error in errors if kind_of[error] == kind)
    return SearchFailedError(run, f"Every trial of run {run} failed ({len(errors)}); {count} of them like this: "
                                  f"{example[:300]}. The run is stored: nas.leaderboard --run {run} lists each "
                                  f"trial's error{f', and so does {report}' if report else ''}")


def _check_keywords(settings: dict[str, Any]) -> None:
    for keyword in settings:
        if keyword not in SETTINGS:
            close = difflib.get_close_matches(keyword, SETTINGS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(SETTINGS)}"
            raise SettingError(keyword, f"nas.search has no setting {keyword!r}{hint}")


def prepare_search(settings: dict[str, Any], store: ResultStore | None = None, name: str | None = None,
                   resume: bool = False, validation_data: Any = None, test_data: Any = None,
                   callbacks: Any = None) -> tuple[SearchConfig, SearchInputs]:
    """The settings given (a new run's, or the stored run's with what a resume may change) and the objects behind
    them."""
    given = dict(settings)
    if "address" not in given and os.environ.get("RAY_ADDRESS"):
        given["address"] = os.environ["RAY_ADDRESS"]
    if "time_budget" in given:  # a time budget alone runs trials until it ends, like Ray Tune's num_samples=-1,
        given.setdefault("trials", None)  # and fits the final epochs into its final share
        given.setdefault("final_epochs", None)
    if given.get("weight_sharing") and not resume:
        given.setdefault("trials", DEFAULT_JUDGED_CHILDREN)  # architectures judged, cheap with shared weights
        # One supernet trains on this machine's cores (shared among --concurrency supernets), unless told.
        given.setdefault("cpus_per_trial", float(max(1, (os.cpu_count() or 1) // (given.get("concurrency") or 1))))
    stored = stored_run(store, name).config if resume else None
    space = resolve_space(given.get("space", stored.get("space") if stored else "cnn"))
    source = _data(given, stored, validation_data, test_data)
    train_fn = given.get("train_fn", stored.get("train_fn") if stored else None)
    train_fn_object = import_reference(train_fn, "train_fn", SettingError) if isinstance(train_fn, str) else train_fn
    if train_fn_object is not None and not callable(train_fn_object):
        raise SettingError("train_fn", f"expected a function train_fn(model, data, report), received {train_fn!r}")
    references = {"space": space.reference,
                  "data": (source.reference or placeholder(source.name)) if "data" in given else None,
                  "train_fn": _reference(train_fn_object) if train_fn_object is not None else None}
    plain = {key: value for key, value in given.items() if key not in _OBJECT_SETTINGS}
    if stored is None:
        config = SearchConfig(**plain, **{key: value for key, value in references.items()
                                          if key in given or key == "space" or value is not None})
    else:
        config = _resumed_config(name, stored, plain, references, given)
    if config.weight_sharing:
        from nas.settings.search_config import check_weight_sharing

        check_weight_sharing(config, space.space)
    elif "shortlist" in given:
        raise SettingError("shortlist", "trains the best architectures judged with shared weights; expected "
                                        "weight_sharing with it, or no shortlist")
    modules = tuple(module for module in (space.module, defining_module(references["data"]),
                                          defining_module(references["train_fn"])) if module is not None)
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    return config, SearchInputs(space.space, source, train_fn_object, tuple(callbacks or ()), modules)


def _data(given: dict[str, Any], stored: dict | None, validation_data: Any, test_data: Any) -> DataSource:
    if "data" in given or "dataset" in given or stored is None:
        return data_source(given.get("data"), given.get("dataset"), validation_data, test_data)
    return stored_data_source(stored.get("data"), stored.get("dataset"), "nas.search(..., resume=True, data=...)",
                              validation_data, test_data)


def _reference(value: Callable) -> str:
    return reference_of(value) or placeholder(getattr(value, "__name__", type(value).__name__))


def _resumed_config(name: str, stored: dict, plain: dict, references: dict, given: dict) -> SearchConfig:
    """The stored run's config, with what a resume may change; a setting that would change what is searched is
    refused."""
    resumable = resumable_settings()
    stored_config = SearchConfig.from_dict(stored)
    for setting, value in {**plain, **{key: references[key] for key in _OBJECT_SETTINGS if key in given}}.items():
        if setting in resumable:
            continue
        before = getattr(stored_config, setting)
        changed = dataclasses.replace(stored_config, **{setting: value})
        if setting in ("objective", "direction"):  # stored as the task settles them: val_accuracy as accuracy
            changed = changed.for_task(changed.task)
        after = getattr(changed, setting)
        if after != before:
            raise SettingError(setting, f"resume continues run {name!r} as it was started, with {setting} "
                                        f"{_shown(before)}; received {_shown(after)}. Leave it out, or start a new "
                                        "run with another name")
    return dataclasses.replace(stored_config, **{key: value for key, value in plain.items() if key in resumable})


def _shown(value: Any) -> str:
    return repr(getattr(value, "value", value))


search.__signature__ = inspect.signature(search).replace(parameters=[  # type: ignore[attr-defined]
    *[parameter for parameter in inspect.signature(search).parameters.values()
      if parameter.kind is not inspect.Parameter.VAR_KEYWORD],
    *[inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default
                        if field.default is not dataclasses.MISSING else field.default_factory())
      for field in dataclasses.fields(SearchConfig) if field.name != "space"]])

_call_module_as(__name__, search)

if __name__ == "__main__":  # `python -m nas.search`: the command line (nas/commands/search.py)
    from nas.commands.search import main

    raise SystemExit(main())
