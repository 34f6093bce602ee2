"""A run for TensorBoard: each trial's per-epoch curves and the run's HParams view (`tensorboard --logdir DIR`).

TensorBoard's own package makes the event files: its protos, its hparams plugin's `hparams_pb` and
`hparams_config_pb`, and its `RecordWriter`, none of which imports TensorFlow. The layout is the one Keras'
TensorBoard callback and Keras Tuner give:

    DIR/RUN/                     the HParams experiment: each architecture choice a hyperparameter, the figures metrics
    DIR/RUN/trial-N/             trial N's choices (an HParams session) and figures: validation_accuracy, params, ...
    DIR/RUN/trial-N/train/       its per-epoch curves on the training batches (epoch_loss, epoch_accuracy, ...)
    DIR/RUN/trial-N/validation/  and on the validation data, so the two overlay in the Scalars view

Failed trials are left out (they have no figures to compare). A search writes each trial as it finishes
(`--tensorboard DIR`), and `nas.leaderboard --format tensorboard --to DIR` writes stored runs the same way.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from results.records import RunRecord, TrialRecord, TrialStatus

# A trial's figures, as HParams metrics: the tag in trial-N/ and what the HParams table calls it.
FIGURES = {"validation_accuracy": "validation accuracy", "validation_score": "validation score (the objective)",
           "test_accuracy": "test accuracy", "test_score": "test score (the objective)", "params": "parameters",
           "flops": "FLOPs (2xMAC)", "latency_ms": "latency, batch 1 (ms)", "epochs": "epochs trained",
           "train_seconds": "training seconds"}


def write_run(folder: str | Path, run: RunRecord | None, trials: Iterable[TrialRecord]) -> Path:
    """Write a stored run's HParams experiment and each of its trials under `folder`/RUN; returns that folder."""
    trials = list(trials)
    name = run.name if run else trials[0].run
    run_folder = Path(folder) / name  # a run's name has no path separators (nas.settings.checks.run_name)
    for trial in trials:
        write_trial(run_folder, trial)
    write_experiment(run_folder, [trial.arch for trial in trials if trial.status is not TrialStatus.FAILED],
                     created=run.created_at.timestamp() if run and run.created_at else None)
    return run_folder


def write_experiment(run_folder: Path, archs: Sequence[dict[str, Any]], created: float | None = None) -> None:
    """The HParams experiment of a run whose trials chose `archs`: one hyperparameter per architecture choice (with
    the values seen as its domain when they share a type) and the figures as metrics. It replaces the one written
    before, so a resumed search that writes it again leaves one."""
    from tensorboard.plugins.hparams import summary_v2 as hparams

    seen: dict[str, list] = {}
    for arch in archs:
        for choice, value in _hparams(arch).items():
            seen.setdefault(choice, []).append(value)
    run_folder.mkdir(parents=True, exist_ok=True)
    for earlier in run_folder.glob("events.out.tfevents.*"):
        earlier.unlink()
    config = hparams.hparams_config_pb(
        [hparams.HParam(choice, _domain(values)) for choice, values in sorted(seen.items())],
        [hparams.Metric(tag, display_name=shown) for tag, shown in FIGURES.items()],
        time_created_secs=created)
    _write(run_folder, [(config, 0)])


def write_trial(run_folder: Path, trial: TrialRecord) -> None:
    """Trial N's session (its choices and figures) in `run_folder`/trial-N and its curves beside them; a trial
    written before (a search writes a trial when it finishes, then again once the final training tested it) is
    replaced. A failed trial is not written."""
    from tensorboard.plugins.hparams import summary_v2 as hparams

    if trial.status is TrialStatus.FAILED:
        return
    folder = run_folder / f"trial-{trial.number}"
    shutil.rmtree(folder, ignore_errors=True)
    started = trial.started_at.timestamp() if trial.started_at else None
    session = hparams.hparams_pb(_hparams(trial.arch), trial_id=f"{trial.run}:{trial.number}",
                                 start_time_secs=started)
    figures = {"validation_accuracy": trial.validation_accuracy, "validation_score": trial.score,
               "test_accuracy": trial.test_accuracy, "test_score": trial.test_score, "params": trial.params,
               "flops": trial.flops, "latency_ms": trial.latency_ms, "epochs": trial.epochs,
               "train_seconds": trial.train_seconds}
    step = trial.epochs or 0
    _write(folder, [(session, 0)] + [(_scalar(tag, value), step)
                                     for tag, value in figures.items() if value is not None])
    curves: dict[str, list] = {"train": [], "validation": []}
    for epoch in trial.history or []:
        for name, value in epoch["logs"].items():
            part, metric = ("validation", name.removeprefix("val_")) if name.startswith("val_") else ("train", name)
            curves[part].append((_scalar(f"epoch_{metric}", value), epoch["epoch"]))
    for part, summaries in curves.items():
        if summaries:
            _write(folder / part, summaries)


def _scalar(tag: str, value: float):
    """A scalar under `tag` exactly (HParams finds a session's metrics by their tags), as TensorBoard's Scalars view
    reads it."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    return Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])


def _write(folder: Path, summaries: list[tuple[Any, int]]) -> None:
    """One event file in `folder` holding each (summary, step). TensorBoard's RecordWriter frames the records;
    its EventFileWriter would import TensorFlow for its file system."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    # TensorBoard reads the files whose names hold "tfevents", in the order of their names: a folder written again
    # (a trial once tested) gets a later one.
    with open(folder / f"events.out.tfevents.{time.time_ns()}.nas", "wb") as file:
        records = RecordWriter(file)
        records.write(Event(wall_time=now, file_version="brain.Event:2").SerializeToString())
        for summary, step in summaries:
            records.write(Event(wall_time=now, step=step, summary=summary).SerializeToString())


def _hparams(arch: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """An architecture's choices as HParams values: numbers, strings and booleans as they are, anything else as
    JSON; an inactive conditional choice (None) is left out."""
    return {choice: value if isinstance(value, (bool, int, float, str)) else json.dumps(value)
            for choice, value in arch.items() if value is not None}


def _domain(values: list):
    """The values a choice took, as a Discrete domain when they are all of one kind (HParams filters by it)."""
    from tensorboard.plugins.hparams import summary_v2 as hparams

    kinds = {bool if isinstance(value, bool) else float if isinstance(value, (int, float)) else str
             for value in values}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return hparams.Discrete(sorted({kind(value) for value in values}))
