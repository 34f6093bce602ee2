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
from datetime import datetime, timezone

from nas.data.sources import VALIDATION_FRACTION
from nas.data.task_data import TaskData, prepare
from nas.errors import RunError, SettingError
from nas.estimator.hypermodel_fit import with_fit_hyperparameters
from nas.estimator.objectives import Objective
from nas.runner.memory_guard import WorkersKilledForMemory
from nas.runner.memory_limit import check_space_meets, local_memory_limit
from nas.runner.progress import SearchObserver
from nas.runner.run_files import remove_checkpoints
from nas.runner.search_phases import (FINAL_TRAINING_MARGIN_S, final_training, over_limit_reward, search_trials,
                                      train_shortlist)
from nas.runner.summary import SearchSummary, judged_count, ranked_trials, summarize, trial_score
from nas.settings.inputs import SearchInputs
from nas.settings.search_config import SearchConfig
from results import JudgedWith, ResultStore, RunRecord, RunStatus, TrialStatus
from results.lease import RunLease, lease_expiry, new_owner
from search_spaces import SearchSpace
from strategies import STRATEGIES, Strategy, Trial, get_strategy

logger = logging.getLogger(__name__)

# Times a search goes on after Ray's memory monitor stopped its trials (a Ray this search did not start: nas turns
# the monitor off in its own, nas/runner/cluster.py) before it gives up and says so.
MOST_MEMORY_RESTARTS = 10


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
    # A keras-tuner HyperModel's own fit declares hyperparameters too; finding them takes the data.
    inputs = dataclasses.replace(inputs, space=with_fit_hyperparameters(inputs.space, data, config.batch_size,
                                                                        config.seed))
    strategy = _strategy(config, inputs.space, objective)
    # A space that cannot meet the data or the limits is known now, before Ray starts (memory_limit.py).
    memory_limit = None if config.weight_sharing or (config.address and not config.max_memory) else \
        local_memory_limit(config.max_memory, config.concurrency, config.cpus_per_trial)
    check_space_meets(inputs.space, data, config.recipe(final=False), objective, memory_limit, config.seed,
                      limit_given=config.max_memory is not None)
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
                _search_trials_past_memory_kills(config, inputs, store, run, strategy, data, observer, remaining,
                                                 told_late, start, lease)
            elif told_late:  # no trial left to run: the strategy hears the last ones, for its stored state
                from nas.runner.searcher import StrategySearcher

                StrategySearcher(strategy, over_limit_reward(objective), finished=told_late)
                store.update_run(run.name, strategy_state=strategy.state_dict())
            margin_deadline = None if deadline is None else deadline - FINAL_TRAINING_MARGIN_S
            if config.weight_sharing and config.top_k and config.shortlist:
                train_shortlist(config, inputs, run.name, data, store, observer, margin_deadline)
            final_trainings = final_training(config, inputs, store, run.name, data, observer, margin_deadline)
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
    if not config.keep_checkpoints:  # the run is complete: no trial of it will go on from a checkpoint
        remove_checkpoints(config.output_path, run.name)
    return dataclasses.replace(summarize(store, run.name, time.perf_counter() - start, objective),
                               final_trainings=final_trainings)


def _search_trials_past_memory_kills(config: SearchConfig, inputs: SearchInputs, store: ResultStore, run: RunRecord,
                                     strategy: Strategy, data: TaskData, observer: SearchObserver,
                                     remaining: int | None, told_late: list, start: float, lease: RunLease) -> None:
    """The search's trials; when Ray's memory monitor stops them (nas/runner/memory_guard.py), the trials it killed
    are recorded as failed and the search goes on as a resume would, up to MOST_MEMORY_RESTARTS times."""
    for restart in range(MOST_MEMORY_RESTARTS + 1):
        try:
            search_trials(config, inputs, run.name, strategy, data, store, observer, remaining,
                          config.search_budget_s(time.perf_counter() - start), told_late)
            return
        except WorkersKilledForMemory as killed:
            if restart == MOST_MEMORY_RESTARTS:
                raise RunError(f"Ray's memory monitor stopped the trials {restart + 1} times; the trials so far "
                               f"are stored. Expected a lower max_memory, or a node with more memory free; "
                               f"continue with --resume --name {run.name}") from None
            logger.warning("Ray's memory monitor killed trial(s) %s; the search goes on", killed.trials)
            strategy = _strategy(config, inputs.space, config.objective_spec)
            run, remaining, told_late = _open_run(config, store, run.name, True, strategy, data, inputs.space,
                                                  lease.owner)
            in_flight = [trial.number for trial in store.trials(run.name) if trial.status is TrialStatus.RUNNING]
            if in_flight:
                observer.trials_interrupted(in_flight)
            if remaining is not None and remaining <= 0:
                return


def _strategy(config: SearchConfig, space: SearchSpace, objective: Objective) -> Strategy:
    options = dict(config.strategy_options)
    if objective.multi_objective and "directions" in STRATEGIES[config.strategy].options:
        options.setdefault("directions", ["maximize", "minimize", "minimize"])  # accuracy, latency, params
    try:
        return get_strategy(config.strategy, space, seed=config.seed, **options)
    except ValueError as error:  # an option the strategy does not know, or a value it refuses
        raise SettingError("strategy_options", str(error)) from None


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


def stored_run(store: ResultStore, name: str | None) -> RunRecord:
    if not name:
        raise RunError("Resuming needs the run to continue. Expected name=RUN (--name RUN) with resume")
    run = store.get_run(name)
    if run is None:
        raise RunError(f"Cannot resume run {name!r}: it is not in the store. Expected one of: {latest_runs(store)}")
    return run


def latest_runs(store: ResultStore) -> str:
    """The names of the store's five newest runs, for an error about a run that is not there."""
    return ", ".join(stored.name for stored in store.list_runs()[-5:]) or "none stored"


def default_run_name(space: str, strategy: str) -> str:
    return f"{space}-{strategy}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _now() -> datetime:
    return datetime.now(timezone.utc)
