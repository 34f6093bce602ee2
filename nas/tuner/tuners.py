"""Keras Tuner's tuners by name, each a nas.Tuner with the strategy or scheduler that does its work in nas, and
Keras Tuner's arguments in Keras Tuner's order: `keras_tuner.RandomSearch(...)` becomes
`nas.tuner.RandomSearch(...)`.
"""
from __future__ import annotations

from typing import Any

from nas.errors import SettingError
from nas.settings import checks
from nas.settings.search_config import DEFAULT_TRIALS
from nas.tuner.keywords import hyperband_trials
from nas.tuner.tuner import KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS, Tuner


class RandomSearch(Tuner):
    """keras_tuner.RandomSearch: nas's random strategy."""

    strategy = "random"

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = DEFAULT_TRIALS,
                 seed: int | None = None, hyperparameters: Any = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int | None = None,
                 max_consecutive_failed_trials: int | None = KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS,
                 **kwargs: Any):
        super().__init__(hypermodel, objective, max_trials, seed, hyperparameters, tune_new_entries,
                         allow_new_entries, max_retries_per_trial, max_consecutive_failed_trials, **kwargs)


class BayesianOptimization(Tuner):
    """keras_tuner.BayesianOptimization: nas's bayes strategy, Optuna's TPE (a Parzen-tree estimator where Keras
    Tuner fits a Gaussian process, so `alpha` and `beta`, the process's noise and exploration, mean nothing here
    and are left aside). `num_initial_points`: the random trials before the model proposes (TPE's
    n_startup_trials; nas's default, 10, unless given)."""

    strategy = "bayes"

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int = DEFAULT_TRIALS,
                 num_initial_points: int | None = None, alpha: float = 1e-4, beta: float = 2.6,
                 seed: int | None = None, hyperparameters: Any = None, tune_new_entries: bool = True,
                 allow_new_entries: bool = True, max_retries_per_trial: int | None = None,
                 max_consecutive_failed_trials: int | None = KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS,
                 **kwargs: Any):
        if num_initial_points is not None:
            kwargs["strategy_options"] = {**kwargs.get("strategy_options", {}),
                                          "n_startup_trials": _integer("num_initial_points", num_initial_points, 1)}
        super().__init__(hypermodel, objective, max_trials, seed, hyperparameters, tune_new_entries,
                         allow_new_entries, max_retries_per_trial, max_consecutive_failed_trials, **kwargs)


class Hyperband(Tuner):
    """keras_tuner.Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
    Optimization", JMLR 2018) as Ray Tune's ASHA scheduler (Li et al., "A System for Massively Parallel
    Hyperparameter Tuning", MLSys 2020), the asynchronous successive halving Hyperband's brackets are made of.

    Each trial trains one model for up to `max_epochs` epochs; after 1, factor, factor^2... epochs, a trial whose
    objective trails the best 1/`factor` of those that reached the same epoch is stopped, keeping its score.
    Where it departs from Keras Tuner's: Keras Tuner runs its brackets one after another, each starting its
    models at a different epoch budget, and continues a round's best from their checkpoints as new trials; ASHA
    runs one bracket asynchronously (a grace period of one epoch), so trials never wait for a round to fill.
    The trials are as many models as Keras Tuner's Hyperband starts in `hyperband_iterations` iterations
    (nas.tuner.keywords.hyperband_trials), unless max_trials is given. search(epochs=...) is left aside, as in
    Keras Tuner: max_epochs decides. Proposals come from nas's random strategy unless `strategy` says another."""

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_epochs: int = 100, factor: int = 3,
                 hyperband_iterations: int = 1, seed: int | None = None, hyperparameters: Any = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True,
                 max_retries_per_trial: int | None = None,
                 max_consecutive_failed_trials: int | None = KERAS_TUNER_MAX_CONSECUTIVE_FAILED_TRIALS,
                 max_trials: int | None = None, **kwargs: Any):
        for setting in ("scheduler", "reduction_factor"):
            if setting in kwargs:
                raise SettingError(setting, "Hyperband schedules its trials with asha, reduced by its factor; "
                                            "expected factor, or nas.Tuner for another scheduler")
        self.max_epochs = _integer("max_epochs", max_epochs, 1)
        self.factor = _integer("factor", factor, 2)
        self.hyperband_iterations = _integer("hyperband_iterations", hyperband_iterations, 1)
        if max_trials is None:
            max_trials = hyperband_trials(self.max_epochs, self.factor, self.hyperband_iterations)
        super().__init__(hypermodel, objective, max_trials, seed, hyperparameters, tune_new_entries,
                         allow_new_entries, max_retries_per_trial, max_consecutive_failed_trials,
                         scheduler="asha", reduction_factor=self.factor, **kwargs)

    def _epochs(self, epochs: int | None) -> int:
        return self.max_epochs


def _integer(keyword: str, value: Any, minimum: int) -> int:
    try:
        return checks.integer(minimum)(value)
    except ValueError as error:
        raise SettingError(keyword, str(error)) from None
