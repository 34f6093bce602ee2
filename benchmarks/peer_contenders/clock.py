"""The wall clock every contender runs against, and the anytime curve it leaves.

Keras Tuner, Optuna's Keras example and AutoKeras have no wall-clock budget of their own (Optuna's `timeout` only
stops it starting trials), so a Keras callback ends the running training when the budget is spent; the tool's loop is
then told to start no more (per tool, in its module). Keras Tuner deep-copies callbacks for every trial, so the one
`Clock` a contender shares (its deadline, its curve) is never copied: a deep copy of it is itself.
"""
from __future__ import annotations

import math
import time

import keras


class Clock:
    """Seconds since the contender started, its deadline, and the best validation figure after each evaluation."""

    def __init__(self, budget_seconds: float, maximise: bool = True):
        self.start = time.perf_counter()
        self.deadline = self.start + budget_seconds
        self.maximise = maximise
        self.curve: list[tuple[float, float]] = []  # (seconds since start, best validation so far)
        self.evaluations = 0
        self._out_of_time_hooks: list = []

    def when_out_of_time(self, hook) -> None:
        """Call hook() once, at the first check that finds the budget spent (to stop a tool's loop)."""
        self._out_of_time_hooks.append(hook)

    def check(self) -> None:
        """Once the budget is spent, call the hooks given to when_out_of_time (each once). StopAtDeadline checks at
        the end of every training; a tool whose trials can end before any training checks before each trial too."""
        if self.out_of_time():
            while self._out_of_time_hooks:
                self._out_of_time_hooks.pop()()

    def __deepcopy__(self, memo) -> Clock:
        return self  # every copy of a callback (Keras Tuner makes one per trial) reports to the same clock

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.deadline

    def record(self, validation: float | None) -> None:
        """One architecture evaluated (or one Hyperband rung of it), with its best validation figure."""
        self.evaluations += 1
        if validation is None or not math.isfinite(validation):
            return
        if self.curve:
            best = self.curve[-1][1]
            validation = max(best, validation) if self.maximise else min(best, validation)
        self.curve.append((round(self.elapsed(), 2), float(validation)))


class StopAtDeadline(keras.callbacks.Callback):
    """Ends a training at the clock's deadline (checked every batch) and, with `record`, records the training's best
    validation figure (`monitor`, e.g. val_accuracy) on the clock when it ends (the figure Keras Tuner selects by)."""

    def __init__(self, clock: Clock, monitor: str, record: bool = True):
        super().__init__()
        self.clock = clock
        self.monitor = monitor
        self.record = record
        self.best: float | None = None

    def on_train_begin(self, logs=None):
        self.best = None

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.out_of_time():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None:
            value = float(value)
            better = self.best is None or (value > self.best if self.clock.maximise else value < self.best)
            self.best = value if better else self.best
        if self.clock.out_of_time():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.record:
            self.clock.record(self.best)
        self.clock.check()
