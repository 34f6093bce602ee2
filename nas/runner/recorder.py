"""A Ray Tune callback that writes every trial to the store as it starts and ends, from the driver."""
from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from ray import tune

from nas.runner.consecutive_failures import ConsecutiveFailures
from nas.runner.memory_guard import death_from_memory, note_killed, worker_gone
from nas.runner.progress import SearchObserver
from results import ResultStore, TrialRecord, TrialStatus
from strategies import Strategy, Trial

logger = logging.getLogger(__name__)

STATE_INTERVAL_S = 10.0


class TrialRecorder(tune.Callback):
    """Writes each trial to the store as it starts and ends, and keeps the strategy's state beside it, at most every
    STATE_INTERVAL_S (the rl controller's state is megabytes): a resume adopts the trials stored since.

    It also accounts for what each trial cost: the CPUs and GPUs of the placement group Ray reserved for it, times
    the wall time between Tune starting it and it ending, summed over its attempts (Tune starts a trial again
    after its worker died, up to `FailureConfig.max_failures` times).

    Each trial that ends is counted in `failures`, which tells the searcher when too many failed in a row.
    """

    def __init__(self, store: ResultStore, run: str, strategy: Strategy, observer: SearchObserver | None,
                 experiment: Path | None = None, memory_limit: int | None = None,
                 failures: ConsecutiveFailures | None = None):
        self.store, self.run, self.strategy, self.observer = store, run, strategy, observer
        self.experiment, self.memory_limit = experiment, memory_limit  # where workers note a kill for memory
        self.failures = failures or ConsecutiveFailures(None)
        self.records: dict[int, TrialRecord] = {}
        self.last_results: dict[int, dict] = {}  # each trial's latest report, as Tune handed it to the driver
        self.histories: dict[int, dict[int, dict]] = {}  # each trial's epochs by number (a retry reports some again)
        self._usage: dict[int, _Usage] = {}
        self._state_saved_at = -float("inf")

    def __getstate__(self) -> dict:
        # Tune pickles its callbacks with the experiment; a progress display belongs to one process.
        return {**self.__dict__, "observer": None}

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        number = trial.config["trial"]
        resources = trial.placement_group_factory.required_resources
        usage = self._usage.setdefault(number, _Usage(resources.get("CPU", 0.0), resources.get("GPU", 0.0)))
        usage.attempt_started()
        arch = self.strategy.space.validate(trial.config["arch"])
        record = TrialRecord(run=self.run, number=number, status=TrialStatus.RUNNING, arch_key=arch.key,
                             arch=arch.to_dict(), started_at=self.records[number].started_at
                             if usage.attempts > 1 and number in self.records else _now(), attempts=usage.attempts)
        self._save(record)
        self._save_state()
        if self.observer and usage.attempts == 1:
            self.observer.trial_started(record)

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        """The trial's worker died and Tune will start it again: its time so far still counts. A worker killed
        for memory is noted, and the new attempt reports the failure without training (memory_guard.py)."""
        usage = self._usage.get(trial.config["trial"])
        if usage is not None:
            usage.attempt_ended()
        if self._killed_for_memory(trial) is None:
            logger.warning("Trial %s failed (%s); Ray retries it.", trial.config["trial"], ray_error(trial))

    def record_refused(self, trial: Trial, figures: dict) -> None:
        """A proposal refused in the driver (over a limit by its estimate): failed, never sent to Ray."""
        now = _now()
        record = TrialRecord(run=self.run, number=trial.id, status=TrialStatus.FAILED, arch_key=trial.arch.key,
                             arch=trial.arch.to_dict(), error=figures["error"], params=figures.get("params"),
                             flops=figures.get("flops"), started_at=now, finished_at=now, attempts=0,
                             cpu_seconds=0.0, gpu_seconds=0.0)
        self._save(record)
        self.failures.trial_ended(trial.id, record.error)
        if self.observer:
            self.observer.trial_finished(record)

    def killed_by_ray_memory_monitor(self) -> list[int]:
        """Record as failed the trials in flight whose workers Ray's memory monitor killed (their processes are
        gone), noted so that no later attempt trains them; the numbers of those trials."""
        killed = []
        for number, record in list(self.records.items()):
            if record.status is not TrialStatus.RUNNING or self.experiment is None \
                    or not worker_gone(self.experiment, number):
                continue
            reason = "out of memory: Ray's memory monitor killed its worker (the machine ran low on memory)"
            note_killed(self.experiment, number, reason)
            self._finish(number, self.last_results.get(number) or {}, error=reason)
            killed.append(number)
        return killed

    def _killed_for_memory(self, trial) -> str | None:
        if self.experiment is None or self.memory_limit is None:
            return None
        return death_from_memory(self.experiment, trial.config["trial"], self.memory_limit, ray_error(trial))

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.last_results[trial.config["trial"]] = result
        if result.get("epoch") is not None:
            self.histories.setdefault(trial.config["trial"], {})[result["epoch"]] = epoch_entry(result)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._finish(trial.config["trial"], trial.last_result or {}, error=None)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        number = trial.config["trial"]
        if number not in self.records:  # it failed before it could start, e.g. its worker could not import nas
            self.on_trial_start(iteration, trials, trial)
        self._finish(number, trial.last_result or {}, error=self._killed_for_memory(trial) or ray_error(trial))

    def _finish(self, number: int, result: dict, error: str | None) -> None:
        started = self.records.get(number)
        if started is None or started.status is not TrialStatus.RUNNING:
            return  # never started (cut by the time budget while pending), or already recorded
        usage = self._usage[number]
        usage.attempt_ended()
        record = finished_record(started, result, error)
        epochs = self.histories.get(number, {})
        self._save(dataclasses.replace(record, cpu_seconds=usage.cpus * usage.seconds,
                                       gpu_seconds=usage.gpus * usage.seconds,
                                       history=[epochs[epoch] for epoch in sorted(epochs)] or None))
        self.failures.trial_ended(number, record.error if record.status is TrialStatus.FAILED else None)
        self._save_state()
        if self.observer:
            self.observer.trial_finished(self.records[number])

    def finish_unrecorded(self, result) -> None:
        """Record a trial the time budget cut (Tune calls no callback for it) as stopped, from its last result."""
        number = (result.config or {}).get("trial")
        self._finish(number, self.last_results.get(number) or result.metrics or {}, error=None)

    def _save(self, record: TrialRecord) -> None:
        self.records[record.number] = record
        self.store.save_trial(record)

    def _save_state(self) -> None:
        """The strategy's state, unless it was saved less than STATE_INTERVAL_S ago (the end of the trials saves it
        in any case). Trials are stored before the state, so the store never lacks a trial the state knows."""
        if time.perf_counter() - self._state_saved_at >= STATE_INTERVAL_S:
            self.store.update_run(self.run, strategy_state=self.strategy.state_dict())
            self._state_saved_at = time.perf_counter()


@dataclasses.dataclass
class _Usage:
    """A trial's resources and the wall time it has held them, over its attempts."""

    cpus: float
    gpus: float
    attempts: int = 0
    seconds: float = 0.0
    _since: float | None = None

    def attempt_started(self) -> None:
        self.attempts += 1
        self._since = time.monotonic()

    def attempt_ended(self) -> None:
        if self._since is not None:
            self.seconds += time.monotonic() - self._since
            self._since = None


def finished_record(started: TrialRecord, result: dict, error: str | None) -> TrialRecord:
    """The trial's final row from its last reported result (nas.estimator.evaluator.Evaluator writes them)."""
    error = error or result.get("error")
    epochs = result.get("epoch")
    planned = result.get("epochs_planned")
    if error:
        status = TrialStatus.FAILED
    elif epochs is not None and (planned is None or epochs >= planned):
        status = TrialStatus.COMPLETED
    else:  # stopped before its last epoch: by a scheduler or by the time budget
        status = TrialStatus.STOPPED
    metrics = validation_metrics(result)
    return dataclasses.replace(
        started, status=status, error=error, validation_accuracy=result.get("validation_accuracy"),
        score=result.get("score"), metrics=metrics or None, params=result.get("params"), flops=result.get("flops"),
        latency_ms=result.get("latency_ms"), train_seconds=result.get("train_seconds"),
        latency_device=result.get("latency_device"), latency_threads=result.get("latency_threads"),
        latency_batch_size=result.get("latency_batch_size"), latency_batch_ms=result.get("latency_batch_ms"),
        layers=result.get("layers"), epochs=epochs, node=result.get("node"), host=result.get("host"),
        finished_at=_now())


def validation_metrics(result: dict) -> dict:
    """The validation metrics of a report, as Keras names them (val_loss, val_accuracy, ...)."""
    return {name: value for name, value in result.items() if name.startswith("val_")}


def epoch_entry(result: dict) -> dict:
    """One epoch of a trial's history, from its report (nas.estimator.evaluator): the logs as Keras names them."""
    logs = {**result.get("training_metrics", {}), **validation_metrics(result)}
    return {"epoch": result["epoch"], "train_seconds": result.get("train_seconds"), "logs": logs}


def ray_error(trial) -> str:
    error_file = getattr(trial, "error_file", None)
    if error_file and Path(error_file).exists():
        lines = [line for line in Path(error_file).read_text().splitlines() if line.strip()]
        if lines:
            return f"Ray reported the trial failed: {lines[-1][:400]}"
    return "Ray reported the trial failed (its worker died or was killed)"


def _now() -> datetime:
    return datetime.now(timezone.utc)
