"""What the store keeps: one `RunRecord` per search and one `TrialRecord` per trial, as frozen dataclasses."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # the search itself failed (not one of its trials)
    INTERRUPTED = "interrupted"  # stopped by the user, or its driver is gone (results/lease.py); --resume goes on


class TrialStatus(str, enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"  # trained for all its planned epochs
    FAILED = "failed"  # `error` says why: an architecture too deep for the input, a NaN loss, out of memory...
    STOPPED = "stopped"  # ended early by a scheduler or the time budget; its accuracy is the last epoch's


class JudgedWith(str, enum.Enum):
    """How a trial's validation score was measured."""

    TRAINING = "training"  # the architecture trained alone with the trial recipe
    SHARED_WEIGHTS = "shared_weights"  # scored with a supernet's shared weights, not trained (nas/weight_sharing)


@dataclass(frozen=True)
class RunRecord:
    name: str
    space: str
    strategy: str
    dataset: str
    status: RunStatus
    config: dict[str, Any] = field(default_factory=dict)  # the search's settings, so a resume can rebuild it
    strategy_state: dict[str, Any] | None = None  # the strategy's state_dict after the last finished trial
    created_at: datetime | None = None
    finished_at: datetime | None = None
    task: str | None = None  # classification or regression (None: stored before nas searched regressions)
    objective: str | None = None  # what `score` measures: accuracy, mnas, pareto or a metric such as val_loss
    direction: str | None = None  # max or min: which scores are better
    owner: str | None = None  # the search driver that holds the run now ("host:pid:token"), None when none does
    lease_expires_at: datetime | None = None  # until when the owner's lease holds unless renewed (results/lease.py)


@dataclass(frozen=True)
class TrialRecord:
    run: str
    number: int  # the trial's number within its run, from 0
    status: TrialStatus
    arch_key: str  # the architecture's canonical key
    arch: dict[str, Any]  # the architecture as JSON data (Architecture.to_dict)
    error: str | None = None
    validation_accuracy: float | None = None
    test_accuracy: float | None = None  # set once, by the final training of the run's top-k (a classification)
    params: int | None = None
    flops: int | None = None
    latency_ms: float | None = None
    train_seconds: float | None = None
    epochs: int | None = None  # epochs actually trained
    node: str | None = None  # the Ray node id the trial ran on
    host: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # What the trial cost, as Ray accounted it: the CPUs and GPUs Ray reserved for it times how long it held them,
    # over every attempt (`attempts` > 1: Ray retried it after its worker died). The final training of a top-k
    # architecture is counted apart.
    attempts: int | None = None
    cpu_seconds: float | None = None
    gpu_seconds: float | None = None
    final_cpu_seconds: float | None = None
    final_gpu_seconds: float | None = None
    # How `latency_ms` (batch 1) was measured, and the latency of a larger batch: the device the compiled call ran
    # on and TensorFlow's intra-op thread count there.
    latency_device: str | None = None
    latency_threads: int | None = None
    latency_batch_size: int | None = None
    latency_batch_ms: float | None = None
    final_epochs: int | None = None  # epochs of the final training, once it ran
    # The run's objective on validation (`score`, as the run's direction ranks it) and every validation metric the
    # last epoch reported; the final training's on the test set; where its trained model was saved, and its seed.
    score: float | None = None
    metrics: dict[str, float] | None = None
    test_score: float | None = None
    test_metrics: dict[str, float] | None = None
    model_path: str | None = None
    final_seed: int | None = None
    layers: list[dict[str, Any]] | None = None  # the built model's layers (kind, label, shape, params), for diagrams
    # Each epoch the trial trained, in order: {"epoch", "train_seconds", "logs"}, the logs named as Keras names them
    # (loss, accuracy, val_loss, val_accuracy, ...); for TensorBoard's curves (results/tensorboard.py).
    history: list[dict[str, Any]] | None = None
    judged_with: JudgedWith = JudgedWith.TRAINING  # how validation_accuracy and score were measured
