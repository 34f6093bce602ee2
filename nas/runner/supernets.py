"""A weight-sharing search's supernets as a Ray Tune experiment, around nas.weight_sharing.trial.

Each supernet is one Tune trial (a function trainable), so it asks Ray for its CPUs and GPUs (a fraction too) like
any trial, is retried after its worker died, and keeps its state as Tune checkpoints under the output folder.
`ChildRecorder` stores every child a supernet judged as a trial row of the run, marked as judged with shared
weights, as the reports arrive in the driver.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from ray import tune

from nas.runner.progress import SearchObserver
from nas.runner.tune import TrialPlan, checkpointing_report, newest_checkpoints
from nas.runner.worker_memory import released_after
from nas.weight_sharing.judge import SAVED_STATE
from nas.weight_sharing.trial import SupernetSettings, run_supernet
from results import JudgedWith, ResultStore, TrialRecord, TrialStatus


def supernet_trial(config: dict, data, settings: SupernetSettings, experiment: str) -> None:
    """Tune's function trainable: run supernet `config["supernet"]`, going on from Tune's checkpoint after a retry,
    or from the run's last one after a resume (`config["resume_from"]`)."""
    report = checkpointing_report(experiment)
    index = config["supernet"]
    checkpoint = tune.get_checkpoint()
    resume_from = (config.get("resume_from") or {}).get(str(index))
    if checkpoint is None and resume_from and Path(resume_from).is_dir():
        checkpoint = tune.Checkpoint.from_directory(resume_from)
    with released_after():
        task_data = data.get()
        if checkpoint is None:
            run_supernet(index, settings, task_data, report)
            return
        with checkpoint.as_directory() as folder:
            run_supernet(index, settings, task_data, report, resume_from=Path(folder))


def latest_supernet_checkpoints(experiment: Path) -> dict[str, str]:
    """The newest state each supernet kept, by the number of children it had judged (keyed as Tune's parameters
    are: the supernet's index as text)."""
    return {str(index): folder for index, folder in newest_checkpoints(experiment, "supernet", _judged).items()}


def _judged(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / SAVED_STATE).read_text())["judged"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ChildRecorder(tune.Callback):
    """Stores each judged child as a trial row as its supernet reports it; a supernet's CPU and GPU time between
    two reports is shared among the children of the later one, so the run's cost adds up."""

    def __init__(self, store: ResultStore, run: str, space, observer: SearchObserver | None):
        self.store, self.run, self.space, self.observer = store, run, space, observer
        self.records: dict[int, TrialRecord] = {}
        self._reported_at: dict[str, float] = {}
        self._started: set[str] = set()  # the supernets (Tune trial ids) that reported

    def __getstate__(self) -> dict:
        return {**self.__dict__, "observer": None}

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._reported_at[trial.trial_id] = time.monotonic()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        children = result.get("children") or []
        now = time.monotonic()
        seconds = now - self._reported_at.get(trial.trial_id, now)
        self._reported_at[trial.trial_id] = now
        resources = trial.placement_group_factory.required_resources
        share = seconds / max(1, len(children))
        records = [self._save(child, result, resources.get("CPU", 0.0) * share, resources.get("GPU", 0.0) * share)
                   for child in children]
        if self.observer:
            if trial.trial_id not in self._started and result.get("latency_error") is not None:
                self._started.add(trial.trial_id)
                self.observer.supernet_started(result.get("supernet", 0), result.get("latency_error"))
            self.observer.children_judged(result.get("supernet", 0), records, result.get("architectures_judged", 0))

    def _save(self, child: dict, result: dict, cpu_seconds: float, gpu_seconds: float) -> TrialRecord:
        arch = self.space.validate(child["arch"])
        judged = child["validation_accuracy"] is not None
        now = datetime.now(timezone.utc)
        record = TrialRecord(
            run=self.run, number=child["trial"], status=TrialStatus.COMPLETED if judged else TrialStatus.FAILED,
            arch_key=arch.key, arch=arch.to_dict(), error=child["error"],
            validation_accuracy=child["validation_accuracy"], score=child["score"], params=child["params"],
            flops=child["flops"], latency_ms=child["latency_ms"], node=result.get("node"), host=result.get("host"),
            started_at=now, finished_at=now, attempts=1, cpu_seconds=cpu_seconds, gpu_seconds=gpu_seconds,
            metrics={"val_accuracy": child["validation_accuracy"]} if judged else None,
            judged_with=JudgedWith.SHARED_WEIGHTS)
        self.records[record.number] = record
        self.store.save_trial(record)
        return record


def run_supernets(plan: TrialPlan, settings: SupernetSettings, data, store: ResultStore,
                  observer: SearchObserver | None) -> dict[int, TrialRecord]:
    """Run the search's supernets on Ray Tune until each has judged its share or the time budget ends."""
    experiment = plan.storage_path / plan.run
    trainable = tune.with_resources(tune.with_parameters(supernet_trial, data=data, settings=settings,
                                                         experiment=str(experiment)),
                                    {"cpu": plan.cpus_per_trial, "gpu": plan.gpus_per_trial})
    recorder = ChildRecorder(store, plan.run, settings.space, observer)
    tuner = tune.Tuner(
        trainable,
        param_space={"supernet": tune.grid_search(list(range(settings.supernets))),
                     "resume_from": latest_supernet_checkpoints(experiment)},
        tune_config=tune.TuneConfig(time_budget_s=plan.time_budget_s, reuse_actors=False),
        run_config=tune.RunConfig(name=plan.run, storage_path=str(plan.storage_path), verbose=0,
                                  callbacks=[recorder], checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                                  failure_config=tune.FailureConfig(max_failures=plan.trial_retries)),
    )
    for result in tuner.fit():
        if result.error is not None:
            raise result.error
    return recorder.records
