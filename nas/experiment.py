"""One search from start to end: data, strategy, trials on Ray, final training of the top-k, all in the store.

Selection uses validation only; the test part is handed to the final training of the winners alone and never
reaches a strategy or a search trial.

A resume rebuilds a run from the store, not from Ray Tune's experiment checkpoint (`Tuner.restore`): the store is
written as each trial starts and ends, with the strategy's state, so it is never behind, while Tune saves its
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
from types import ModuleType
from typing import Callable

from nas.data import TaskData, prepare
from nas.data_sources import VALIDATION_FRACTION, DataSource, WorkerData
from nas.enums import Task
from nas.errors import RunError, SettingError
from nas.evaluator import EvaluationSettings
from nas.models import model_path, save_model_file
from nas.objectives import OVER_LIMIT_REWARD, Objective
from nas.progress import SearchObserver
from nas.settings import SearchConfig
from results import JudgedWith, ResultStore, RunCost, RunRecord, RunStatus, TrialRecord, TrialStatus, run_costs
from results.lease import RunLease, lease_expiry, new_owner
from results.pareto import pareto_indices
from search_spaces import SearchSpace
from strategies import STRATEGIES, Strategy, Trial, get_strategy

logger = logging.getLogger(__name__)

# Under a time budget, the final training stops planning epochs this long before the budget ends: the test,
# the report and stopping Ray come after it.
FINAL_TRAINING_MARGIN_S = 15.0


@dataclass(frozen=True)
class SearchInputs:
    """The objects behind a search's settings: its space, its data, and the user's training code."""

    space: SearchSpace
    data: DataSource
    train_fn: Callable | None = None
    callbacks: tuple = ()
    user_modules: tuple[ModuleType, ...] = ()  # the user's code, which a cluster's workers must be sent


@dataclass(frozen=True)
class FinalTrainingSummary:
    trial: int
    epochs: int | None
    test_accuracy: float | None
    test_score: float | None
    train_seconds: float
    model_path: str | None


@dataclass(frozen=True)
class SearchSummary:
    run: str
    trials_completed: int
    trials_failed: int
    trials_stopped: int
    wall_seconds: float
    best: TrialRecord | None  # best by the objective; with its test figures if it was final-trained
    cost: RunCost  # CPU- and GPU-hours, over every session of the run (a resumed run counts them all)
    objective: Objective
    pareto_front: list[TrialRecord] = dataclasses.field(default_factory=list)  # objective pareto: the front
    final_trainings: list[FinalTrainingSummary] = dataclasses.field(default_factory=list)  # this session's
    architectures_judged: int = 0  # completed trials scored with shared weights (a weight-sharing search's children)


def run_search(config: SearchConfig, inputs: SearchInputs, store: ResultStore, name: str, resume: bool = False,
               observer: SearchObserver | None = None) -> SearchSummary:
    """Run (or with `resume`, continue) the search `name`, recording everything in `store`; the run is this
    search's alone while it runs (results/lease.py).

    A time budget covers the whole call: the trials get all but `config.final_share` of it (less what setting up
    took), and the final training fits its epochs into what is left."""
    start = time.perf_counter()
    owner = new_owner()
    lease = RunLease(store, name, owner)
    if resume:  # before any work: a run that another live search holds is refused in one line
        store.acquire_lease(name, owner, lease_expiry())
        lease.start()
    else:
        store.check_new_run_name(name)
    try:
        return _search(config, inputs, store, name, resume, observer or SearchObserver(), start, lease)
    finally:
        lease.release()


def _search(config: SearchConfig, inputs: SearchInputs, store: ResultStore, name: str, resume: bool,
            observer: SearchObserver, start: float, lease: RunLease) -> SearchSummary:
    deadline = None if config.time_budget is None else time.time() + config.time_budget
    data = prepare(inputs.data.load(), inputs.data.name, config.task, config.num_classes, config.seed,
                   VALIDATION_FRACTION)
    config = config.for_task(data.task)
    objective = config.objective_spec
    strategy = _strategy(config, inputs.space, objective)
    from nas.runner import cluster  # imports Ray only when it starts or joins one

    if config.address:
        cluster.prepare_to_join(config.address)  # before Ray is imported: it reads its auth mode then
    started_ray = cluster.start_ray(config.address, config.output_path, list(inputs.user_modules))
    watch = cluster.LocalRayWatch(lambda process: _ray_lost(store, name, lease, process)).start() \
        if started_ray and not config.address else None
    try:
        cluster.check_resources(config.cpus_per_trial, config.gpus_per_trial, bool(config.address),
                                config.resource_wait)
        run, remaining, told_late = _open_run(config, store, name, resume, strategy, data, inputs.space,
                                              lease.owner)
        lease.start()  # a new run is ours from its creation
        stored = store.trials(run.name)  # a resumed run's earlier sessions
        ranked = ranked_trials(stored, objective)
        # The counts are the run's, over all its sessions: the trials --trials counts (a weight-sharing run's
        # judged children), and those a stopped session left in flight, which run again.
        in_flight = [trial.number for trial in stored if trial.status is TrialStatus.RUNNING]
        done_before = judged_count(stored) if config.weight_sharing else len(stored) - len(in_flight)
        observer.search_started(run.name, objective.name, objective.direction.value == "max", config.trials,
                                done_before, trial_score(ranked[0]) if ranked else None)
        if in_flight:
            observer.trials_interrupted(in_flight)
        try:
            # A weight-sharing run whose shortlist was being trained has its supernets behind it.
            shortlisting = config.weight_sharing and any(trial.judged_with is JudgedWith.TRAINING for trial in stored)
            if (remaining is None or remaining > 0) and not shortlisting:
                _run_trials(config, inputs, run.name, strategy, data, store, observer, remaining,
                            config.search_budget_s(time.perf_counter() - start), told_late)
            elif told_late:  # no trial left to run: the strategy hears the last ones, for its stored state
                from nas.runner.searcher import StrategySearcher

                StrategySearcher(strategy, _over_limit_reward(objective), finished=told_late)
                store.update_run(run.name, strategy_state=strategy.state_dict())
            margin_deadline = None if deadline is None else deadline - FINAL_TRAINING_MARGIN_S
            if config.weight_sharing and config.top_k and config.shortlist:
                _train_shortlist(config, inputs, run.name, data, store, observer, margin_deadline)
            final_trainings = _final_training(config, inputs, store, run.name, data, observer, margin_deadline)
            store.update_run(run.name, status=RunStatus.COMPLETED, finished_at=_now())
        except KeyboardInterrupt:
            store.update_run(run.name, status=RunStatus.INTERRUPTED, finished_at=_now())
            raise
        except Exception:
            store.update_run(run.name, status=RunStatus.FAILED, finished_at=_now())
            raise
    finally:
        if watch is not None:
            watch.stop()
        if started_ray:
            cluster.stop_ray()
    return dataclasses.replace(summarize(store, run.name, time.perf_counter() - start, objective),
                               final_trainings=final_trainings)


def _strategy(config: SearchConfig, space: SearchSpace, objective: Objective) -> Strategy:
    options = dict(config.strategy_options)
    if objective.multi_objective and "directions" in STRATEGIES[config.strategy].options:
        options.setdefault("directions", ["maximize", "minimize", "minimize"])  # accuracy, latency, params
    try:
        return get_strategy(config.strategy, space, seed=config.seed, **options)
    except ValueError as error:  # an option the strategy does not know, or a value it refuses
        raise SettingError("strategy_options", str(error)) from None


def _evaluation_settings(config: SearchConfig, inputs: SearchInputs, task_data: TaskData, final: bool,
                         threads: int, deadline: float | None = None) -> EvaluationSettings:
    return EvaluationSettings(inputs.space, config.recipe(final), config.objective_spec, task_data.task, threads,
                              config.seed, inputs.train_fn, tuple(inputs.callbacks), deadline)


def _payload(config: SearchConfig, inputs: SearchInputs, data: TaskData, final: bool):
    """What the workers get: the data itself through Ray's object store, or how to make it (a data function)."""
    subset = None if final else config.train_subset
    if inputs.data.in_workers:
        return WorkerData(inputs.data, data.task, config.num_classes, config.seed, VALIDATION_FRACTION, subset,
                          with_test=final)
    return data if final else data.without_test().training_subset(subset, config.seed)


def _run_trials(config: SearchConfig, inputs: SearchInputs, run: str, strategy: Strategy, data: TaskData,
                store: ResultStore, observer, trials: int | None, time_budget_s: float | None,
                told_late: list) -> None:
    from nas.runner.tune import TrialPlan, run_trials

    objective = config.objective_spec
    plan = TrialPlan(run, config.output_path / "ray_results", config.cpus_per_trial, config.gpus_per_trial,
                     config.concurrency, config.scheduler, config.epochs, config.trial_retries, trials, time_budget_s,
                     _over_limit_reward(objective))
    threads = max(1, int(config.cpus_per_trial))
    if config.weight_sharing:
        _run_supernets(config, inputs, plan, data, store, observer, threads)
        return
    settings = _evaluation_settings(config, inputs, data, final=False, threads=threads)
    run_trials(plan, strategy, _payload(config, inputs, data, final=False), settings, store, observer, told_late)


def _run_supernets(config: SearchConfig, inputs: SearchInputs, plan, data: TaskData, store: ResultStore, observer,
                   threads: int) -> None:
    """A weight-sharing search's trials: its supernets, each judging its share of the run's `trials` children
    (a resumed supernet knows from its checkpoint how many it has judged)."""
    from nas.runner.supernets import run_supernets
    from nas.weight_sharing.trial import SupernetSettings

    if data.task != Task.CLASSIFICATION:
        raise SettingError("weight_sharing", f"judges classifiers; the data makes this a {data.task.value}. "
                                             "Expected class labels, or a search without weight sharing")
    settings = SupernetSettings(inputs.space, config.objective_spec, config.strategy, dict(config.strategy_options),
                                config.seed, threads, config.concurrency or 1, config.trials, plan.time_budget_s)
    # The whole training part: a supernet's steps are cheap, and train_subset sizes the trials of a search that
    # trains each architecture.
    run_supernets(plan, settings, _payload(config.replace(train_subset=None), inputs, data, final=False), store,
                  observer)


def _train_shortlist(config: SearchConfig, inputs: SearchInputs, run: str, data: TaskData, store: ResultStore,
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
    plan = TrialPlan(run, config.output_path / "ray_results" / "shortlist", cpus, config.gpus_per_trial, None,
                     config.scheduler, config.epochs, config.trial_retries, count, budget,
                     _over_limit_reward(objective))
    observer.shortlist_started(chosen, count, config.epochs, budget)
    settings = _evaluation_settings(config, inputs, data, final=False, threads=max(1, int(cpus)))
    run_trials(plan, strategy, _payload(config, inputs, data, final=False), settings, store, observer)


def _ray_lost(store: ResultStore, name: str, lease: RunLease, process: str) -> None:
    """The local Ray died under the search (cluster.LocalRayWatch): the run is marked interrupted and given back,
    and the user told how to go on, before the process exits."""
    try:
        if store.get_run(name) is not None:
            store.update_run(name, status=RunStatus.INTERRUPTED, finished_at=_now())
    finally:
        lease.release()
        logger.error("The local Ray stopped under the search (its %s process ended). Completed trials are stored; "
                     "continue with --resume --name %s", process, name)


def _over_limit_reward(objective: Objective) -> float | None:
    return OVER_LIMIT_REWARD if objective.bounded else None


def _open_run(config: SearchConfig, store: ResultStore, name: str, resume: bool, strategy: Strategy,
              data: TaskData, space: SearchSpace, owner: str) -> tuple[RunRecord, int | None, list]:
    """Create the run (or reload it and its strategy's state to resume); returns it, the trials left to run (None:
    no limit but the time budget) and the stored results its strategy has not heard yet."""
    told_late: list[tuple[Trial, dict | None]] = []
    if resume and config.weight_sharing:  # the supernets keep their strategies' states in their checkpoints
        run = stored_run(store, name)
        remaining = None if config.trials is None else config.trials - judged_count(store.trials(run.name))
    elif resume:
        from nas.runner.searcher import stored_result  # Ray is running by now

        run = stored_run(store, name)
        if run.strategy_state:
            strategy.load_state_dict(run.strategy_state)
        stored = {trial.number: trial for trial in store.trials(run.name)}
        for number in sorted(stored):  # trials that started after the state was last saved (every few seconds)
            if number >= strategy.next_id:
                strategy.adopt(Trial(number, space.validate(stored[number].arch)))
        finished = [number for number, trial in stored.items() if trial.status is not TrialStatus.RUNNING]
        # Trials that finished before the strategy heard of them (it hears them in trial order) are told now;
        # the trials that were in flight run again.
        told_late = [(trial, stored_result(stored[trial.id], config.objective_spec))
                     for trial in sorted(strategy.outstanding, key=lambda trial: trial.id) if trial.id in finished]
        strategy.reissue_outstanding(finished)
        remaining = None if config.trials is None else config.trials - len(finished)
    else:
        objective = config.objective_spec
        run = RunRecord(name=name, space=space.name, strategy=config.strategy, dataset=data.name,
                        status=RunStatus.RUNNING, config=config.to_dict(), created_at=_now(), task=data.task.value,
                        objective=objective.name, direction=objective.direction.value, owner=owner,
                        lease_expires_at=lease_expiry())
        store.create_run(run)  # a second search that raced for the same new name is refused here
        strategy.enqueue(space.references.values())  # the lecture's models, in the built-in spaces
        remaining = config.trials
    # A resume may change the budget or where it runs: the stored config follows, for the next resume.
    store.update_run(run.name, status=RunStatus.RUNNING, config=config.to_dict(),
                     strategy_state=None if config.weight_sharing else strategy.state_dict())
    return store.get_run(run.name), remaining, told_late


def judged_count(trials: list[TrialRecord]) -> int:
    """Trials completed with shared weights: a weight-sharing search's judged children (its shortlist is trained)."""
    return sum(trial.status is TrialStatus.COMPLETED and trial.judged_with is JudgedWith.SHARED_WEIGHTS
               for trial in trials)


def trial_score(trial: TrialRecord) -> float | None:
    """The objective's score of a stored trial (runs stored before scores were kept searched for accuracy)."""
    return trial.score if trial.score is not None else trial.validation_accuracy


def ranked_trials(trials: list[TrialRecord], objective: Objective = Objective()) -> list[TrialRecord]:
    """Scored trials, best first by the objective (ties: fewer parameters first). For a Pareto search, the trials
    of the Pareto front only (accuracy, latency, params), by validation accuracy. Where some were trained and
    others only judged with shared weights (a weight-sharing search's shortlist), the trained ones alone: a score
    from training outranks any shared-weight score, and the two are not on one scale."""
    scored = [trial for trial in trials if trial_score(trial) is not None and trial.latency_ms is not None
              and trial.params is not None and trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)]
    trained = [trial for trial in scored if trial.judged_with is JudgedWith.TRAINING]
    scored = trained or scored
    if objective.multi_objective:
        front = pareto_indices(scored)
        scored = [trial for index, trial in enumerate(scored) if index in front]
        reward = lambda trial: trial.validation_accuracy  # noqa: E731
    else:
        reward = lambda trial: objective.reward(trial_score(trial))  # noqa: E731
    return sorted(scored, key=lambda trial: (-reward(trial), trial.params, trial.number))


def _final_training(config: SearchConfig, inputs: SearchInputs, store: ResultStore, run: str, data: TaskData,
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
    settings = _evaluation_settings(config, inputs, data, final=True, threads=max(1, int(cpus)), deadline=deadline)
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

    run_final_trainings(winners, _payload(config, inputs, data, final=True), settings, cpus, config.gpus_per_trial,
                        record)
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


def summarize(store: ResultStore, run: str, wall_seconds: float, objective: Objective) -> SearchSummary:
    trials = store.trials(run)
    count = lambda status: sum(trial.status is status for trial in trials)  # noqa: E731
    ranked = ranked_trials(trials, objective)
    return SearchSummary(run, count(TrialStatus.COMPLETED), count(TrialStatus.FAILED), count(TrialStatus.STOPPED),
                         wall_seconds, ranked[0] if ranked else None, run_costs(store, [run])[0], objective,
                         pareto_front=ranked if objective.multi_objective else [],
                         architectures_judged=judged_count(trials))


def stored_run(store: ResultStore, name: str | None) -> RunRecord:
    if not name:
        raise RunError("Resuming needs the run to continue. Expected name=RUN (--name RUN) with resume")
    run = store.get_run(name)
    if run is None:
        known = ", ".join(stored.name for stored in store.list_runs()[-5:]) or "none stored"
        raise RunError(f"Cannot resume run {name!r}: it is not in the store. Expected one of: {known}")
    return run


def default_run_name(space: str, strategy: str) -> str:
    return f"{space}-{strategy}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _now() -> datetime:
    return datetime.now(timezone.utc)
