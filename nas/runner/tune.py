"""Search trials as a Ray Tune experiment, and the final trainings as Ray tasks, both around nas.estimator.evaluator.

Ray Tune does the scheduling: a `tune.Tuner` runs the trials, asks our strategy for architectures through
`StrategySearcher`, limits how many run at once with Ray's `ConcurrencyLimiter`, and tells `TrialRecorder` as
trials start and end. The data reaches the workers once through Ray's object store (`tune.with_parameters`,
`ray.put`), or is made in each worker by the user's function (nas.data.sources.WorkerData).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import tempfile
import time
from pathlib import Path
from typing import Callable

import ray
from ray import tune
from ray.tune.search import ConcurrencyLimiter

from nas.estimator.evaluator import EvaluationSettings, Evaluator, FinalTraining
from nas.estimator.training import saved_epoch
from nas.runner.cluster import alive_nodes
from nas.runner.consecutive_failures import ConsecutiveFailures
from nas.runner.memory_guard import WorkersKilledForMemory, guarded, killed_for_memory
from nas.runner.memory_limit import ProposalCheck
from nas.runner.progress import SearchObserver
from nas.runner.recorder import TrialRecorder
from nas.runner.searcher import METRIC, StrategySearcher
from nas.runner.worker_memory import released_after
from nas.settings.search_config import DEFAULT_REDUCTION_FACTOR, Scheduler
from results import ResultStore, TrialRecord
from strategies import Strategy

logger = logging.getLogger(__name__)


def search_trial(config: dict, data, settings: EvaluationSettings, experiment: str) -> None:
    """Tune's function trainable: score `config["arch"]`, reporting after every epoch (nas.estimator.evaluator) with the
    training state as the trial's checkpoint, and going on from the last one after a retry (Tune's own checkpoint)
    or a resume of the run (`config["resume_from"]`, from StrategySearcher)."""
    report = checkpointing_report(experiment)
    killed = killed_for_memory(Path(experiment), config["trial"])
    if killed:  # an earlier attempt ran out of memory: it would only run out again
        report({"trial": config["trial"], "error": killed})
        return
    try:
        task_data = data.get()
    except Exception as error:  # the user's data function failed in this worker
        report({"trial": config["trial"], "error": f"making the data failed: {type(error).__name__}: {error}"[:500]})
        return
    checkpoint = tune.get_checkpoint()
    if checkpoint is None and config.get("resume_from") and Path(config["resume_from"]).is_dir():
        checkpoint = tune.Checkpoint.from_directory(config["resume_from"])
    guard = guarded(settings.memory_limit, Path(experiment), config["trial"]) if settings.memory_limit \
        else contextlib.nullcontext()
    with released_after(), guard:  # Ray reuses this worker for the next trial
        if checkpoint is None:
            Evaluator(settings).evaluate(config["trial"], config["arch"], task_data, report)
            return
        with checkpoint.as_directory() as folder:
            Evaluator(settings).evaluate(config["trial"], config["arch"], task_data, report,
                                         resume_from=Path(folder))


def checkpointing_report(experiment: str) -> Callable[..., None]:
    """A trial's `report(figures, save_state=None)`: tune.report of the figures and where the trial ran, with the
    files `save_state(folder)` writes as the trial's checkpoint when given. Checkpoints go to the experiment folder
    under the output folder: from a node that cannot see it (another machine, no shared file system) Ray would
    refuse them, and the trial goes on without."""
    location = worker_location()
    keep_checkpoints = Path(experiment).is_dir()

    def report(figures: dict, save_state: Callable[[Path], None] | None = None) -> None:
        metrics = {**figures, **location}
        if save_state is None or not keep_checkpoints:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory(prefix="nas-checkpoint-") as folder:
            save_state(Path(folder))
            write_checkpoint_contents(Path(folder))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))  # copied before it returns

    return report


# Ray copies a checkpoint into the experiment folder file by file (pyarrow.fs.copy_files), so a process killed
# mid-copy leaves part of one there. Each checkpoint nas writes lists its files' sizes in this file; one whose files
# are not all there, whole, is passed over.
CHECKPOINT_CONTENTS = "contents.json"


def write_checkpoint_contents(folder: Path) -> None:
    """List the size of every file under `folder` in its CHECKPOINT_CONTENTS."""
    sizes = {str(path.relative_to(folder)): path.stat().st_size for path in sorted(folder.rglob("*")) if path.is_file()}
    (folder / CHECKPOINT_CONTENTS).write_text(json.dumps(sizes))


def whole_checkpoints(trial_folder: Path) -> list[Path]:
    """The checkpoints in a Tune trial's folder that arrived whole: every file their contents list, at its size."""
    whole = []
    for folder in sorted(trial_folder.glob("checkpoint_*")):
        try:
            sizes = json.loads((folder / CHECKPOINT_CONTENTS).read_text())
            if all((folder / name).stat().st_size == size for name, size in sizes.items()):
                whole.append(folder)
        except (OSError, ValueError, AttributeError):
            continue
    return whole


def newest_checkpoints(experiment: Path, key: str, progress: Callable[[Path], int | None]) -> dict[int, str]:
    """The newest checkpoint Tune kept whole in an experiment folder (the run's earlier sessions included) of each
    value of the trials' parameter `key`, by `progress(folder)` (None: no state there; 0 is a state, such as a
    supernet's that has judged no child yet). Of states that reached as far, the one found last is taken."""
    latest: dict[int, tuple[int, str]] = {}
    for params in experiment.glob("*/params.json"):
        try:
            value = int(json.loads(params.read_text())[key])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for folder in whole_checkpoints(params.parent):
            reached = progress(folder)
            if reached is not None and reached >= latest.get(value, (-1, ""))[0]:
                latest[value] = (reached, str(folder))
    return {value: folder for value, (_, folder) in latest.items()}


def latest_checkpoints(experiment: Path) -> dict[int, str]:
    """The newest training state of each trial number: a resumed run's in-flight trials go on from there."""
    return newest_checkpoints(experiment, "trial", saved_epoch)


def worker_location() -> dict[str, str]:
    return {"node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname()}


@dataclasses.dataclass(frozen=True)
class TrialPlan:
    """How Ray Tune runs a search's trials."""

    run: str
    storage_path: Path  # Ray Tune's experiment folder
    cpus_per_trial: float
    gpus_per_trial: float
    concurrency: int | None
    scheduler: Scheduler
    epochs: int  # ASHA's longest rung
    trial_retries: int
    trials: int | None  # None: until the time budget ends
    time_budget_s: float | None
    over_limit_reward: float | None
    reduction_factor: int = DEFAULT_REDUCTION_FACTOR  # ASHA's: the best 1/F at a rung go on, for F times the epochs
    max_consecutive_failed_trials: int | None = None  # launch no more trials after this many failed in a row


def run_trials(plan: TrialPlan, strategy: Strategy, data, settings: EvaluationSettings, store: ResultStore,
               observer: SearchObserver | None, told_late: list | None = None,
               check: ProposalCheck | None = None) -> dict[int, TrialRecord]:
    """Run the plan's trials through Ray Tune; returns their records. With a concurrency, proposals are
    reproducible (StrategySearcher's lag); `told_late` are a resumed run's finished trials its strategy has not
    heard yet; a proposal `check` refuses is recorded as failed without reaching Ray (nas/runner/memory_limit.py).
    A trial killed for memory is recorded as failed and not retried (nas/runner/memory_guard.py)."""
    experiment = plan.storage_path / plan.run
    trainable = tune.with_resources(tune.with_parameters(search_trial, data=data, settings=settings,
                                                         experiment=str(experiment)),
                                    {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})
    failures = ConsecutiveFailures(plan.max_consecutive_failed_trials)
    recorder = TrialRecorder(store, plan.run, strategy, observer, experiment, settings.memory_limit, failures)
    strategy_searcher = StrategySearcher(strategy, plan.over_limit_reward, lag=plan.concurrency,
                                         finished=told_late or (), checkpoints=latest_checkpoints(experiment),
                                         refusal=check.refusal if check else None, on_refused=recorder.record_refused,
                                         proposals=plan.trials, failures=failures)
    searcher = strategy_searcher
    if plan.concurrency:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=plan.concurrency)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=_scheduler(plan),
                                    num_samples=-1 if plan.trials is None else plan.trials,
                                    time_budget_s=plan.time_budget_s, reuse_actors=_reuse_workers(plan)),
        run_config=tune.RunConfig(name=plan.run, storage_path=str(plan.storage_path), verbose=0,
                                  callbacks=[recorder], checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                                  failure_config=tune.FailureConfig(max_failures=plan.trial_retries)),
    )
    try:
        results = tuner.fit()
    except RuntimeError as error:
        if not isinstance(error.__cause__, ray.exceptions.OutOfMemoryError):
            raise
        # Ray's memory monitor killed workers, and Ray 2.60's Tune ends the whole experiment for it ("Caught
        # unexpected exception"): the trials whose workers died are recorded as failed; the others in flight stay
        # as they are in the store, for the search to go on with (nas/runner/experiment.py).
        logger.info("Ray's memory monitor stopped the trials: %s", error.__cause__)  # the log, not the terminal
        killed = recorder.killed_by_ray_memory_monitor()
        store.update_run(plan.run, strategy_state=strategy.state_dict())
        raise WorkersKilledForMemory(killed) from error
    for result in results:
        recorder.finish_unrecorded(result)
    strategy_searcher.tell_all()  # the trials held for their turn: the stored state hears every finished trial
    store.update_run(plan.run, strategy_state=strategy.state_dict())
    return recorder.records


def _reuse_workers(plan: TrialPlan) -> bool:
    """Whether a trial's worker process runs the next trial (it saves starting one). Not under ASHA: a trial it
    stops is still inside an epoch, Tune gives the worker 2 s to finish before it reuses it, and when that fails it
    drops the next trial with an error that reaches neither the searcher nor the callbacks (Ray 2.60)."""
    return plan.scheduler != Scheduler.ASHA


def _scheduler(plan: TrialPlan):
    """Ray Tune's trial scheduler: FIFO (every trial trains all its epochs) or ASHA (Li et al., "A System for
    Massively Parallel Hyperparameter Tuning", 2020), which stops trials whose reward trails their peers' after
    1, F, F^2... epochs (F: the plan's reduction factor, 3 by default). A stopped trial keeps the score it
    reached, for the strategy and the store."""
    if plan.scheduler == Scheduler.ASHA:
        from ray.tune.schedulers import ASHAScheduler

        return ASHAScheduler(metric=METRIC, mode="max", time_attr="epoch", max_t=plan.epochs, grace_period=1,
                             reduction_factor=plan.reduction_factor)
    return None  # Tune's FIFO


@dataclasses.dataclass(frozen=True)
class FinalResult:
    training: FinalTraining
    cpu_seconds: float  # the CPUs Ray assigned to the task times its wall time, as for search trials
    gpu_seconds: float


def final_training_task(trial: int, arch: dict, data, settings: EvaluationSettings) -> FinalResult:
    started = time.perf_counter()
    with released_after():  # Ray reuses this worker for the next task
        training = Evaluator(settings).train_final(trial, arch, data.get())
    busy = time.perf_counter() - started
    resources = ray.get_runtime_context().get_assigned_resources()
    return FinalResult(training, resources.get("CPU", 0.0) * busy, resources.get("GPU", 0.0) * busy)


def run_final_trainings(winners: list[TrialRecord], data, settings: EvaluationSettings, cpus: float, gpus: float,
                        on_done: Callable[[FinalResult], None]) -> None:
    """Retrain the winners in parallel on Ray workers, calling `on_done` as each is tested."""
    data_ref, settings_ref = ray.put(data), ray.put(settings)
    remote = ray.remote(final_training_task).options(num_cpus=cpus, num_gpus=gpus)
    pending = [remote.remote(winner.number, winner.arch, data_ref, settings_ref) for winner in winners]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        on_done(ray.get(done[0]))


def final_training_cpus(cpus_per_trial: float, winners: int) -> float:
    """The search is over, so the winners share the CPUs: each gets an equal share of the largest node (a task
    cannot span nodes), and never less than a search trial had."""
    largest_node = max((node.get("CPU", 0.0) for node in alive_nodes()), default=0.0)
    return max(cpus_per_trial, float(int(largest_node // max(1, winners))))
