"""One search from start to end: data, strategy, trials on Ray, final training of the top-k, all in the store.

Selection uses validation accuracy only; the test set is loaded for the final training of the winners alone
and never reaches a strategy or a search trial.

`--resume` rebuilds a run from the store, not from Ray Tune's experiment checkpoint (`Tuner.restore`): the store
is written as each trial starts and ends, with the strategy's state, so it is never behind, while Tune saves its
experiment state on a timer and a SIGKILL can leave it older than the trials already stored. The store also holds
trials of an earlier session that Tune's restore would not know about. Tune still does the rest: retrying a trial
whose worker died (`FailureConfig`), scheduling, and placing trials on the cluster's nodes.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from nas import cluster
from nas.cli_common import UsageError
from nas.config import VALIDATION_FRACTION, SearchConfig
from nas.datasets import Dataset, load_dataset
from nas.objectives import Objective
from nas.references import references_of_space
from results import ResultStore, RunCost, RunRecord, RunStatus, TrialRecord, TrialStatus, run_costs
from results.pareto import pareto_indices
from search_spaces import get_space
from strategies import STRATEGIES, Strategy, get_strategy

logger = logging.getLogger(__name__)

# Under a time budget, the final training stops planning epochs this long before the budget ends: the test,
# the report and stopping Ray come after it.
FINAL_TRAINING_MARGIN_S = 15.0


class ExperimentObserver(Protocol):
    def trial_started(self, record: TrialRecord) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None: ...

    def final_training_started(self, winners: list[TrialRecord], epochs: int, seconds_left: float | None) -> None:
        ...

    def final_training_finished(self, record: TrialRecord, epochs: int) -> None: ...


@dataclass(frozen=True)
class SearchSummary:
    run: str
    trials_completed: int
    trials_failed: int
    trials_stopped: int
    wall_seconds: float
    best: TrialRecord | None  # highest validation accuracy; its test accuracy if it was final-trained
    cost: RunCost  # CPU- and GPU-hours, over every session of the run (a resumed run counts them all)
    pareto_front: list[TrialRecord] = dataclasses.field(default_factory=list)  # --objective pareto: the front
    final_trainings: list = dataclasses.field(default_factory=list)  # this session's, as nas.trial.FinalEvaluation


def run_search(config: SearchConfig, store: ResultStore, name: str, resume: bool = False,
               observer: ExperimentObserver | None = None) -> SearchSummary:
    """Run (or with `resume`, continue) the search `name`, recording everything in `store`.

    A time budget covers the whole call: the trials get all but `config.final_share` of it (less what setting up
    took), and the final training fits its epochs into what is left."""
    start = time.perf_counter()
    deadline = None if config.time_budget_s is None else time.time() + config.time_budget_s
    space = get_space(config.space)
    options = dict(config.strategy_options)
    if config.objective_spec.multi_objective and "directions" in STRATEGIES[config.strategy].options:
        options.setdefault("directions", ["maximize", "minimize", "minimize"])  # accuracy, latency, params
    try:
        strategy = get_strategy(config.strategy, space, seed=config.seed, **options)
    except ValueError as error:  # an option the strategy does not know, or a value it refuses
        raise UsageError(str(error)) from None
    dataset = load_dataset(config.dataset, config.data_path, validation_size=VALIDATION_FRACTION, seed=config.seed)
    if not resume:
        store.check_new_run_name(name)
    if config.address:
        cluster.prepare_to_join(config.address)  # before Ray is imported: it reads its auth mode then
    from nas import runner  # imports Ray: only once a search really starts

    started_ray = runner.start_ray(config)
    try:
        runner.check_resources(config, joined=bool(config.address))
        run, remaining = _open_run(config, store, name, resume, strategy, dataset.name)
        try:
            if remaining is None or remaining > 0:
                runner.run_trials(config, run.name, strategy, search_data(dataset, config), store, observer,
                                  trials=remaining, time_budget_s=config.search_budget_s(time.perf_counter() - start))
            final_trainings = _final_training(config, store, run.name, strategy, dataset, observer,
                                              deadline=None if deadline is None else deadline - FINAL_TRAINING_MARGIN_S)
            store.update_run(run.name, status=RunStatus.COMPLETED, finished_at=_now())
        except KeyboardInterrupt:
            store.update_run(run.name, status=RunStatus.INTERRUPTED, finished_at=_now())
            raise
        except Exception:
            store.update_run(run.name, status=RunStatus.FAILED, finished_at=_now())
            raise
    finally:
        if started_ray:
            runner.stop_ray()
    return dataclasses.replace(_summary(store, run.name, time.perf_counter() - start, config.objective_spec),
                               final_trainings=final_trainings)


def _open_run(config: SearchConfig, store: ResultStore, name: str, resume: bool, strategy: Strategy,
              dataset_name: str) -> tuple[RunRecord, int | None]:
    """Create the run (or reload it and its strategy's state to resume); returns it and the trials left to run
    (None: no limit but the time budget)."""
    if resume:
        run = stored_run(store, name)
        if run.strategy_state:
            strategy.load_state_dict(run.strategy_state)
        strategy.reissue_outstanding()
        finished = [trial for trial in store.trials(run.name) if trial.status is not TrialStatus.RUNNING]
        remaining = None if config.trials is None else config.trials - len(finished)
    else:
        run = RunRecord(name=name, space=config.space, strategy=config.strategy,
                        dataset=dataset_name, status=RunStatus.RUNNING, config=config.to_dict(), created_at=_now())
        store.create_run(run)
        strategy.enqueue(reference.arch for reference in references_of_space(config.space))
        remaining = config.trials
    # A resume may change the budget or where it runs: the stored config follows, for the next resume.
    store.update_run(run.name, status=RunStatus.RUNNING, config=config.to_dict(),
                     strategy_state=strategy.state_dict())
    return store.get_run(run.name), remaining


def ranked_trials(trials: list[TrialRecord], objective: Objective = Objective()) -> list[TrialRecord]:
    """Scored trials, best first by the objective's reward (ties: fewer parameters first). For a Pareto search, the
    trials of the Pareto front only (accuracy, latency, params), by validation accuracy."""
    scored = [trial for trial in trials if trial.validation_accuracy is not None and trial.latency_ms is not None
              and trial.params is not None and trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)]
    if objective.multi_objective:
        front = pareto_indices(scored)
        scored = [trial for index, trial in enumerate(scored) if index in front]
        reward = lambda trial: trial.validation_accuracy  # noqa: E731
    else:
        reward = lambda trial: objective.reward(trial.validation_accuracy, trial.latency_ms, trial.params)  # noqa: E731
    return sorted(scored, key=lambda trial: (-reward(trial), trial.params, trial.number))


def _final_training(config: SearchConfig, store: ResultStore, run: str, strategy: Strategy, dataset: Dataset,
                    observer: ExperimentObserver | None, deadline: float | None) -> list:
    """Retrain and test the top-k that have no test accuracy yet; returns their `FinalEvaluation`s."""
    winners = [trial for trial in ranked_trials(store.trials(run), config.objective_spec)[:config.top_k]
               if trial.test_accuracy is None]
    if not winners:
        return []
    if observer:
        observer.final_training_started(winners, config.final_recipe.epochs,
                                        None if deadline is None else max(0.0, deadline - time.time()))
    from nas import runner

    evaluations = []

    def record(evaluation) -> None:
        evaluations.append(evaluation)
        store.set_test_accuracy(run, evaluation.trial, evaluation.test_accuracy, cpu_seconds=evaluation.cpu_seconds,
                                gpu_seconds=evaluation.gpu_seconds, epochs=evaluation.epochs)
        if observer:
            observer.final_training_finished(store.get_trial(run, evaluation.trial), evaluation.epochs)

    runner.run_final_trainings(config, strategy, dataset, winners, record, deadline)
    return evaluations


def search_data(dataset: Dataset, config: SearchConfig) -> Dataset:
    """What search trials may see: the training subset and the validation split, never the test set."""
    data = dataset.training_subset(config.train_subset, seed=config.seed) if config.train_subset else dataset
    return dataclasses.replace(data, x_test=data.x_test[:0], y_test=data.y_test[:0])


def _summary(store: ResultStore, run: str, wall_seconds: float, objective: Objective) -> SearchSummary:
    trials = store.trials(run)
    count = lambda status: sum(trial.status is status for trial in trials)  # noqa: E731
    ranked = ranked_trials(trials, objective)
    return SearchSummary(run, count(TrialStatus.COMPLETED), count(TrialStatus.FAILED), count(TrialStatus.STOPPED),
                         wall_seconds, ranked[0] if ranked else None, run_costs(store, [run])[0],
                         pareto_front=ranked if objective.multi_objective else [])


def stored_run(store: ResultStore, name: str | None) -> RunRecord:
    if not name:
        raise UsageError("--resume needs the run to continue. Expected --name RUN with --resume")
    run = store.get_run(name)
    if run is None:
        known = ", ".join(stored.name for stored in store.list_runs()[-5:]) or "none stored"
        raise UsageError(f"Cannot resume run {name!r}: it is not in the store. Expected one of: {known}")
    return run


def default_run_name(config: SearchConfig) -> str:
    return f"{config.space}-{config.strategy}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _now() -> datetime:
    return datetime.now(timezone.utc)
