"""The phases of a search after its run is open, each handed to Ray (nas/runner/tune.py, supernets.py): the
trials, or a weight-sharing search's supernets and shortlist; then the final training of the top-k, which alone
touches the test data. nas/runner/experiment.py calls them in order.
"""
from __future__ import annotations

import logging
import time

from nas.data.sources import VALIDATION_FRACTION, WorkerData
from nas.data.task_data import Task, TaskData
from nas.errors import SettingError
from nas.estimator.evaluator import EvaluationSettings
from nas.estimator.footprint import describe_bytes
from nas.estimator.objectives import OVER_LIMIT_REWARD, Objective
from nas.runner.memory_limit import ProposalCheck, trial_memory_limit, trials_at_once
from nas.runner.run_files import model_path, ray_results, save_model_file
from nas.runner.summary import FinalTrainingSummary, ranked_trials
from nas.settings.inputs import SearchInputs
from nas.settings.search_config import SearchConfig
from results import ResultStore
from strategies import Strategy

logger = logging.getLogger(__name__)


# Under a time budget, the final training stops planning epochs this long before the budget ends: the test,
# the report and stopping Ray come after it.
FINAL_TRAINING_MARGIN_S = 15.0


def evaluation_settings(config: SearchConfig, inputs: SearchInputs, task_data: TaskData, final: bool,
                        threads: int, deadline: float | None = None,
                        memory_limit: int | None = None) -> EvaluationSettings:
    return EvaluationSettings(inputs.space, config.recipe(final), config.objective_spec, task_data.task, threads,
                              config.seed, inputs.train_fn, tuple(inputs.callbacks), deadline, memory_limit,
                              config.executions_per_trial)


def memory_checked(config: SearchConfig, inputs: SearchInputs, data: TaskData, payload,
                   cpus_per_trial: float, concurrency: int | None) -> tuple[int, ProposalCheck]:
    """The memory a trial may take here (nas/runner/memory_limit.py), and the check of proposals against it."""
    at_once = trials_at_once(concurrency, cpus_per_trial, config.gpus_per_trial)
    limit = trial_memory_limit(config.max_memory, at_once, joined=bool(config.address))
    logger.info("Memory per trial: %s (%s)", describe_bytes(limit),
                "max_memory" if config.max_memory else f"available memory over {at_once} trial(s) at once")
    shipped = payload if isinstance(payload, TaskData) else data
    return limit, ProposalCheck.for_data(inputs.space, shipped, config.recipe(final=False), config.objective_spec,
                                         limit)


def worker_payload(config: SearchConfig, inputs: SearchInputs, data: TaskData, final: bool):
    """What the workers get: the data itself through Ray's object store, or how to make it (a data function)."""
    subset = None if final else config.train_subset
    if inputs.data.in_workers:
        return WorkerData(inputs.data, data.task, config.num_classes, config.seed, VALIDATION_FRACTION, subset,
                          with_test=final)
    return data if final else data.without_test().training_subset(subset, config.seed)


def search_trials(config: SearchConfig, inputs: SearchInputs, run: str, strategy: Strategy, data: TaskData,
                  store: ResultStore, observer, trials: int | None, time_budget_s: float | None,
                  told_late: list) -> None:
    from nas.runner.tune import TrialPlan, run_trials

    objective = config.objective_spec
    plan = TrialPlan(run, ray_results(config.output_path), config.cpus_per_trial, config.gpus_per_trial,
                     config.concurrency, config.scheduler, config.epochs, config.trial_retries, trials, time_budget_s,
                     over_limit_reward(objective), config.reduction_factor, config.max_consecutive_failed_trials)
    threads = max(1, int(config.cpus_per_trial))
    if config.weight_sharing:
        _search_supernets(config, inputs, plan, data, store, observer, threads)
        return
    payload = worker_payload(config, inputs, data, final=False)
    limit, check = memory_checked(config, inputs, data, payload, config.cpus_per_trial, config.concurrency)
    settings = evaluation_settings(config, inputs, data, final=False, threads=threads, memory_limit=limit)
    run_trials(plan, strategy, payload, settings, store, observer, told_late, check)


def _search_supernets(config: SearchConfig, inputs: SearchInputs, plan, data: TaskData, store: ResultStore, observer,
                      threads: int) -> None:
    """A weight-sharing search's trials: its supernets, each judging its share of the run's `trials` children
    (a resumed supernet knows from its checkpoint how many it has judged)."""
    from nas.runner.supernets import run_supernets
    from nas.weight_sharing.trial import SupernetSettings

    if data.task != Task.CLASSIFICATION:
        raise SettingError("weight_sharing", f"judges classifiers; the data makes this a {data.task.value}. "
                                             "Expected class labels, or a search without weight sharing")
    settings = SupernetSettings(inputs.space, config.objective_spec, config.strategy, dict(config.strategy_options),
                                config.seed, threads, config.concurrency or 1, config.trials, plan.time_budget_s,
                                config.checkpoint_every)
    # The whole training part: a supernet's steps are cheap, and train_subset sizes the trials of a search that
    # trains each architecture.
    run_supernets(plan, settings, worker_payload(config.replace(train_subset=None), inputs, data, final=False), store,
                  observer)


def train_shortlist(config: SearchConfig, inputs: SearchInputs, run: str, data: TaskData, store: ResultStore,
                    observer, deadline: float | None) -> None:
    """A weight-sharing search's shortlist: its best judged children trained alone, as the run's trials of a search
    without weight sharing would be (nas/weight_sharing/shortlist.py). Under a time budget it gets SHORTLIST_SHARE
    of it, out of the final training's share; a trial it stops keeps the score of its last finished epoch."""
    from nas.runner.tune import TrialPlan, run_trials
    from nas.weight_sharing.shortlist import SHORTLIST_SHARE, shortlist_to_train

    objective = config.objective_spec
    strategy, count, chosen = shortlist_to_train(store.trials(run), objective, config.shortlist, inputs.space)
    if count == 0:
        return
    budget = None
    if deadline is not None and config.time_budget is not None:
        budget = max(1.0, min(config.time_budget * SHORTLIST_SHARE, (deadline - time.time()) / 2))
    cpus = min(1.0, config.cpus_per_trial)  # one core each, as the trials of a search without weight sharing
    plan = TrialPlan(run, ray_results(config.output_path, shortlist=True), cpus, config.gpus_per_trial, None,
                     config.scheduler, config.epochs, config.trial_retries, count, budget,
                     over_limit_reward(objective), config.reduction_factor)
    observer.shortlist_started(chosen, count, config.epochs, budget)
    payload = worker_payload(config, inputs, data, final=False)
    limit, check = memory_checked(config, inputs, data, payload, cpus, None)
    settings = evaluation_settings(config, inputs, data, final=False, threads=max(1, int(cpus)), memory_limit=limit)
    run_trials(plan, strategy, payload, settings, store, observer, check=check)


def over_limit_reward(objective: Objective) -> float | None:
    return OVER_LIMIT_REWARD if objective.bounded else None


def final_training(config: SearchConfig, inputs: SearchInputs, store: ResultStore, run: str, data: TaskData,
                   observer, deadline: float | None) -> list[FinalTrainingSummary]:
    """Retrain, save and test the top-k that were not final-trained yet."""
    objective = config.objective_spec
    winners = [trial for trial in ranked_trials(store.trials(run), objective)[:config.top_k]
               if trial.model_path is None and trial.test_accuracy is None and trial.final_seed is None]
    if not winners:
        return []
    recipe = config.recipe(final=True)
    observer.final_training_started(winners, recipe.epochs,
                                    None if deadline is None else max(0.0, deadline - time.time()))
    from nas.runner.tune import final_training_cpus, run_final_trainings

    cpus = final_training_cpus(config.cpus_per_trial, len(winners))
    settings = evaluation_settings(config, inputs, data, final=True, threads=max(1, int(cpus)), deadline=deadline)
    by_number = {winner.number: winner for winner in winners}
    summaries: list[FinalTrainingSummary] = []

    def record(result) -> None:
        training, winner = result.training, by_number[result.training.trial]
        path = _save_model(config, run, training.trial, training.model)
        test_accuracy = training.test_metrics.get("accuracy")
        test_score = None
        if training.test_metrics:
            as_validation = {f"val_{name}": value for name, value in training.test_metrics.items()}
            test_score = objective.score(as_validation, winner.latency_ms or 0.0, winner.params or 0)
        if not store.set_final_training(run, training.trial, test_accuracy=test_accuracy, test_score=test_score,
                                        test_metrics=training.test_metrics or None, model_path=path,
                                        final_seed=training.seed, cpu_seconds=result.cpu_seconds,
                                        gpu_seconds=result.gpu_seconds, epochs=training.epochs):
            logger.warning("Trial %d of run %s already had its final training, from another search of the run; "
                           "its stored figures are kept.", training.trial, run)
            return
        summaries.append(FinalTrainingSummary(training.trial, training.epochs, test_accuracy, test_score,
                                              training.train_seconds, path))
        observer.final_training_finished(store.get_trial(run, training.trial), training.epochs)

    run_final_trainings(winners, worker_payload(config, inputs, data, final=True), settings, cpus,
                        config.gpus_per_trial, record)
    return summaries


def _save_model(config: SearchConfig, run: str, trial: int, content: bytes) -> str | None:
    """Save a final-trained model; one that cannot be written is a warning, as its figures are stored all the same."""
    path = model_path(config.output_path, run, trial)
    try:
        return str(save_model_file(path, content))
    except OSError as error:
        logger.warning("Could not save the model of trial %d to %s (%s); its figures are stored.", trial, path,
                       error.strerror)
        return None
