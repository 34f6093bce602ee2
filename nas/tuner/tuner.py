"""`nas.Tuner`: a Keras Tuner script becomes a nas search by changing its import and its tuner's class name.

    tuner = nas.Tuner(build_model, objective="val_accuracy", max_trials=10, directory="runs", project_name="mnist")
    tuner.search(x, y, epochs=2, validation_data=(x_val, y_val))   # nas.search on Ray Tune, every trial stored
    models = tuner.get_best_models(num_models=2)
    best_hp = tuner.get_best_hyperparameters()[0]                   # build_model(best_hp) builds it again
    tuner.results_summary()

What maps to what (Keras Tuner's semantics are kept unless said):
- hypermodel: searched as nas searches a build(hp) function or HyperModel (search_spaces/hypermodel.py); its
  `hyperparameters`, `tune_new_entries`, `allow_new_entries`, `optimizer`, `loss` and `metrics` are applied to
  each build as Keras Tuner's oracle and tuner apply them (nas/tuner/hypermodel.py).
- objective: a metric's name or keras_tuner.Objective; as everywhere in nas, it is read on the validation data
  (`"accuracy"` is validation accuracy, where Keras Tuner would read the training accuracy).
- max_trials, seed, max_model_size, executions_per_trial, max_consecutive_failed_trials, max_retries_per_trial:
  nas's trials, seed, max_params, executions_per_trial, max_consecutive_failed_trials, trial_retries.
- directory, project_name: the run `project_name` in the store under `directory` (default: ./nas-runs). As in
  Keras Tuner, a project already there is resumed by the next search, and overwrite=True deletes it first.
- strategy: any of nas's (random, bayes, rl, evolution); any other nas.search setting is a keyword too
  (concurrency, cpus_per_trial, time_budget, ...).
- search(x, y, epochs, validation_data or validation_split, callbacks, batch_size): each trial trains on all of x
  (Keras Tuner's way: no train_subset, no augmentation), and the best `top_k` (2 unless given) are trained again,
  for as many epochs, on the training and validation data together.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from nas.errors import RunError, SettingError
from nas.settings import checks
from nas.settings.search_config import DEFAULT_OUTPUT, DEFAULT_TRIALS, SearchConfig, storage_url
from nas.tuner import keywords
from results import ResultStore, RunRecord, TrialRecord, TrialStatus, sqlite_file

logger = logging.getLogger(__name__)

DEFAULT_PROJECT = "untitled_project"  # Keras Tuner's
# Models the final training keeps unless top_k says otherwise: Keras Tuner's getting-started guide asks for two.
DEFAULT_TOP_K = 2
KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS = 3
SETTINGS = tuple(field.name for field in dataclasses.fields(SearchConfig))
_OWN_KEYWORDS = ("hypermodel", "objective", "max_trials", "seed", "hyperparameters", "tune_new_entries",
                 "allow_new_entries", "max_retries_per_trial", "max_consecutive_failed_trials", "strategy",
                 "executions_per_trial", "max_model_size", "optimizer", "loss", "metrics", "distribution_strategy",
                 "directory", "project_name", "overwrite")


class Tuner:
    """A search of `hypermodel` by nas's `strategy` (default: nas's, random), with Keras Tuner's interface; see the
    module's docstring for what each keyword becomes."""

    strategy: str | None = None  # the strategy a subclass searches with (RandomSearch: random)

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = DEFAULT_TRIALS,
                 seed: int | None = None, hyperparameters: Any = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int | None = None,
                 max_consecutive_failed_trials: int | None = KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS, *,
                 strategy: str | None = None, executions_per_trial: int = 1, max_model_size: int | None = None,
                 optimizer: Any = None, loss: Any = None, metrics: Any = None, distribution_strategy: Any = None,
                 directory: str | None = None, project_name: str | None = None, overwrite: bool = False,
                 **settings: Any):
        keywords.check_hypermodel(hypermodel)
        keywords.check_keywords(settings, SETTINGS, _OWN_KEYWORDS)
        if not hyperparameters and not (tune_new_entries and allow_new_entries):
            off = "tune_new_entries" if not tune_new_entries else "allow_new_entries"
            raise SettingError(off, "is False, so the search space must be given: expected hyperparameters too")
        if distribution_strategy is not None:
            raise SettingError("distribution_strategy", "nas trains each model on one Ray worker; expected None "
                                                        "(gpus_per_trial gives each trial its GPUs)")
        if strategy is not None and self.strategy is not None and strategy != self.strategy:
            raise SettingError("strategy", f"{type(self).__name__} searches with strategy {self.strategy!r}; "
                                           f"received {strategy!r}. Expected nas.Tuner(strategy=...) for another")
        self._hypermodel = hypermodel
        self.project_name = project_name or DEFAULT_PROJECT
        self.directory = directory or DEFAULT_OUTPUT
        self._overrides = {"hyperparameters": hyperparameters or None, "tune_new_entries": tune_new_entries,
                           "allow_new_entries": allow_new_entries, "optimizer": optimizer, "loss": loss,
                           "metrics": metrics}
        self._objective = keywords.objective_settings(objective, hypermodel)
        self._storage = settings.pop("storage", None)
        self._progress = settings.pop("progress", None)
        for ignored in keywords.IGNORED_KEYWORDS:
            settings.pop(ignored, None)
        given = {"trials": max_trials, "seed": seed, "strategy": strategy or self.strategy,
                 "max_params": max_model_size, "trial_retries": max_retries_per_trial}
        self._settings = {"top_k": DEFAULT_TOP_K, "train_subset": None, "augment": "none",
                          "executions_per_trial": executions_per_trial,
                          "max_consecutive_failed_trials": max_consecutive_failed_trials, **self._objective,
                          **{name: value for name, value in given.items() if value is not None},
                          "output": self.directory, **settings}
        SearchConfig(**self._settings)  # every setting checked now, in one line each, before any work
        try:
            checks.run_name(self.project_name)
        except ValueError as error:
            raise SettingError("project_name", str(error)) from None
        self._space = None  # what nas.search searches: the hypermodel, wrapped where the tuner changes its builds
        self._last_search: tuple[dict, dict] | None = None  # search()'s arguments, to train more models later
        if overwrite and self._run_exists():
            from nas.runs import delete

            delete(self.project_name, output=self.directory, storage=self._storage)

    @property
    def project_dir(self) -> str:
        return str(Path(self.directory) / self.project_name)

    @property
    def hypermodel(self):
        """The hypermodel as a keras_tuner.HyperModel, as Keras Tuner's tuner holds it: `tuner.hypermodel.build(hp)`
        builds a model (compiled by the build alone, as in Keras Tuner)."""
        from nas.tuner.hypermodel import as_hypermodel

        return as_hypermodel(self._hypermodel)

    def search(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int | None = None,
               verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
               validation_data: Any = None, shuffle: bool = True, **fit_kwargs: Any):
        """Search as Keras Tuner's search(x, y, **fit_kwargs) does, with fit's arguments (epochs defaults to 1, as
        in fit); returns nas's SearchResult (Keras Tuner's returns None). A project already stored is resumed:
        its finished trials count toward max_trials. verbose=0 draws no progress; shuffle is left aside (nas
        shuffles every epoch, as fit does unless told)."""
        keywords.check_fit_keywords(fit_kwargs)
        if x is None:
            raise SettingError("x", "expected the training data, as search(x, y, ...) takes it for Keras' fit")
        if validation_data is None and validation_split:
            (x, y), validation_data = keywords.validation_split(x, y, validation_split)
        settings = dict(self._settings, epochs=self._epochs(epochs))
        settings.setdefault("final_epochs", settings["epochs"])
        if batch_size is not None:
            settings["batch_size"] = batch_size
        progress = self._progress if self._progress is not None else verbose not in (0, False)
        arguments = {"space": self._searched_space(), "data": x if y is None else (x, y),
                     "validation_data": validation_data, "callbacks": callbacks, "storage": self._storage,
                     "name": self.project_name, "progress": progress}
        self._last_search = (arguments, settings)
        return self._search(arguments, settings)

    def get_best_models(self, num_models: int = 1) -> list:
        """The best `num_models` architectures' models, best first, as nas's final training trained them: on the
        training and validation data together, for search's epochs (Keras Tuner returns each trial's checkpoint
        instead). The search trains the best `top_k` (2); more are trained here, which needs search() to have run
        in this process."""
        from nas.runner.run_files import load_model

        _, ranked = self._ranked()
        if any(trial.model_path is None for trial in ranked[:num_models]):
            self._train_more(len(ranked[:num_models]))
            _, ranked = self._ranked()
        ranked = ranked[:num_models]
        # Not Keras' safe mode: these are the project's own files, made by the user's own build (HyperResNet's hold a
        # Lambda layer); Keras Tuner too builds them with that code and loads its checkpoints into them.
        return [load_model(trial.model_path, f"trial {self.project_name}:{trial.number}", safe_mode=False)
                for trial in ranked if trial.model_path]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list:
        """keras_tuner.HyperParameters of the best `num_trials` trials, best first, holding their architectures'
        values: `build_model(hp)` builds one again."""
        import keras_tuner

        _, ranked = self._ranked()
        best = []
        for trial in ranked[:num_trials]:
            hp = keras_tuner.HyperParameters()
            hp.values = dict(trial.arch)
            best.append(hp)
        return best

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best `num_trials` trials as Keras Tuner's results_summary does."""
        from nas.tuner.summaries import print_results

        print_results(self.project_dir, num_trials, self._objective.get("objective"), *self._ranked())

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the hyperparameters searched as Keras Tuner's search_space_summary does (before search() too)."""
        from nas.tuner.summaries import print_search_space

        print_search_space(self._searched_space(), self._overrides)

    def _epochs(self, epochs: int | None) -> int:
        return 1 if epochs is None else epochs  # Keras' fit trains one epoch unless told

    def _searched_space(self) -> Any:
        """The hypermodel as nas.search gets it: itself, or wrapped where the tuner changes its builds (a space
        given as itself keeps its module:attribute, so nas.train and a cluster's workers find it again)."""
        if self._space is None:
            defaults = {"hyperparameters": None, "tune_new_entries": True, "allow_new_entries": True,
                        "optimizer": None, "loss": None, "metrics": None}
            if self._overrides == defaults:
                self._space = self._hypermodel
            else:
                from nas.tuner.hypermodel import wrapped

                self._space = wrapped(self._hypermodel, **self._overrides)
        return self._space

    def _search(self, arguments: dict, settings: dict):
        from nas.search import search

        resume = self._run_exists()
        try:
            return search(**arguments, resume=resume, **settings)
        except SettingError as error:
            if not resume:
                raise
            raise SettingError(error.setting, f"{error.detail} (project {self.project_name!r} is stored under "
                                              f"{self.directory}: overwrite=True starts it again)") from None

    def _train_more(self, count: int) -> None:
        """Train the final models of the best `count` trials that have none: the run resumed with a larger top_k
        and no trial left to run."""
        if self._last_search is None:
            raise RunError(f"Project {self.project_name!r} kept fewer trained models than asked; training more "
                           "needs the data. Expected search() first in this process")
        arguments, settings = self._last_search
        _, trials = self._stored()
        finished = sum(trial.status is not TrialStatus.RUNNING for trial in trials)
        self._search(arguments, {**settings, "top_k": count, "trials": finished})

    def _run_exists(self) -> bool:
        url = storage_url(self._storage, self.directory)
        file = sqlite_file(url)
        if file is not None and not file.exists():
            return False
        with ResultStore(url, read_only=True) as store:
            return store.get_run(self.project_name) is not None

    def _stored(self):
        """The project's run and its trials, from the store."""
        url = storage_url(self._storage, self.directory)
        run = None
        if self._run_exists():
            with ResultStore(url, read_only=True) as store:
                run = store.get_run(self.project_name)
                trials = store.trials(self.project_name, without=("layers", "history"))
        if run is None:
            raise RunError(f"No results of project {self.project_name!r} under {self.directory}. Expected "
                           "search() first")
        return run, trials

    def _ranked(self) -> tuple[RunRecord, list[TrialRecord]]:
        """The project's run, and its scored trials best first, as nas ranks them (nas/runner/summary.py)."""
        from nas.estimator.objectives import Direction, Objective
        from nas.runner.summary import ranked_trials

        run, trials = self._stored()
        objective = Objective(run.objective or "accuracy", Direction(run.direction or "max"))
        return run, ranked_trials(trials, objective)
