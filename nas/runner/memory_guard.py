"""A trial's worker holds itself to the trial's memory limit, and a trial killed for memory is recorded as such.

While a trial trains, a thread of its worker reads the worker's resident memory (psutil) a few times a second:
- past the limit, it raises `TrialOutOfMemory` in the thread that trains (Python's PyThreadState_SetAsyncExc: Keras'
  fit loop runs Python between its steps, so the training stops at the end of the step it is in), and the trial
  fails with "out of memory at 4.2 GB", its worker freed for the next trial;
- if the step itself keeps growing (past GRACE_FACTOR times the limit, or GRACE_S after the exception was sent),
  it writes why into the run's folder and kills its own process: Ray then sees a dead worker.
Each second it also writes what it last read (`heartbeat`), so that the driver can tell a worker the kernel's OOM
killer ended (the machine was nearly out of memory, or the worker near its limit) from one that crashed.

A trial that ran out of memory is not tried again: it would only run out again. Ray Tune starts a trial whose worker
died anew (FailureConfig), so the new attempt finds the note and reports the failure at once, without training
(`killed_for_memory`). Workers are the kernel's first choice when the machine runs out of memory
(`oom_score_adj`), so the driver that records everything survives.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import psutil  # the process's resident memory and the machine's available memory, on every platform

from nas.errors import TrialFailed
from nas.estimator.footprint import describe_bytes

INTERVAL_S = 0.05
HEARTBEAT_S = 1.0
GRACE_S = 10.0
GRACE_FACTOR = 1.5
WORKER_OOM_SCORE_ADJ = 1000  # the kernel's largest: these processes go first
FOLDER = "memory"  # under the run's Ray experiment folder


class TrialOutOfMemory(TrialFailed):
    """A trial grew past its memory limit."""


class WorkersKilledForMemory(Exception):
    """Ray's memory monitor killed trial workers, and Ray Tune stopped the experiment for it."""

    def __init__(self, trials: list[int]):
        super().__init__(f"Ray's memory monitor killed the workers of trial(s) {trials}")
        self.trials = trials


def out_of_memory_message(rss: int, limit: int) -> str:
    return f"out of memory at {describe_bytes(rss)}, the limit is {describe_bytes(limit)} per trial (max_memory)"


def note_path(experiment: Path, trial: int) -> Path:
    return experiment / FOLDER / f"trial-{trial}.killed"


def heartbeat_path(experiment: Path, trial: int) -> Path:
    return experiment / FOLDER / f"trial-{trial}.heartbeat"


def killed_for_memory(experiment: Path, trial: int) -> str | None:
    """Why an earlier attempt of the trial was killed for memory, or None."""
    try:
        return note_path(experiment, trial).read_text().strip() or None
    except OSError:
        return None


def note_killed(experiment: Path, trial: int, reason: str) -> None:
    path = note_path(experiment, trial)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason)


def death_from_memory(experiment: Path, trial: int, limit: int, ray_error: str) -> str | None:
    """Why a trial whose worker died was killed for memory (then noted, so no attempt trains it again), or None
    when nothing says it was: Ray's memory monitor named it, or its last heartbeat saw the machine nearly out of
    memory or the worker near its limit (the kernel's OOM killer leaves no message of its own)."""
    reason = killed_for_memory(experiment, trial)
    if reason is None and ("OutOfMemoryError" in ray_error or "low on memory" in ray_error):
        reason = "out of memory: Ray's memory monitor killed its worker (the machine ran low on memory)"
    if reason is None:
        try:
            beat = json.loads(heartbeat_path(experiment, trial).read_text())
        except (OSError, ValueError):
            beat = None
        if beat and (beat["rss"] >= 0.9 * limit or beat["available"] <= 0.05 * beat["total"]):
            reason = (f"out of memory: its worker was killed at about {describe_bytes(beat['rss'])} (the machine "
                      f"had {describe_bytes(beat['available'])} left)")
    if reason is not None:
        note_killed(experiment, trial, reason)
    return reason


def worker_gone(experiment: Path, trial: int, wait_s: float = 5.0) -> bool:
    """Whether the worker that last ran the trial on this machine has ended, or ends within `wait_s` (Ray reports a
    kill as it sends it): its heartbeat's process is gone, or a zombie its parent has not reaped yet."""
    try:
        process = psutil.Process(json.loads(heartbeat_path(experiment, trial).read_text())["pid"])
    except (OSError, ValueError, KeyError, psutil.Error):
        return isinstance(sys.exc_info()[1], psutil.NoSuchProcess)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def first_to_kill() -> None:
    """Make this process the kernel's first choice when the machine runs out of memory (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{os.getpid()}/oom_score_adj").write_text(str(WORKER_OOM_SCORE_ADJ))


@contextlib.contextmanager
def guarded(limit: int, experiment: Path, trial: int) -> Iterator[None]:
    """Hold the code inside to `limit` bytes of this process's resident memory (see the module's docstring)."""
    first_to_kill()
    watch = _Watch(limit, experiment, trial, threading.get_ident())
    watch.beat()  # at once: a worker killed before its first second is known by its process id
    watch.start()
    try:
        yield
    finally:
        try:  # the exception the watch sent as the code inside ended would land here: the trial is over anyway
            watch.stop()
        except TrialOutOfMemory:
            pass
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(watch.trainer), None)  # one still pending


class _Watch(threading.Thread):
    def __init__(self, limit: int, experiment: Path, trial: int, trainer: int):
        super().__init__(name=f"nas-memory-guard-{trial}", daemon=True)
        self.limit, self.experiment, self.trial, self.trainer = limit, experiment, trial, trainer
        self._stop_event = threading.Event()
        self._process = psutil.Process()
        # Notes go to the run's folder only where this node sees it (not on another machine of a cluster).
        self._writes = experiment.is_dir()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        raised_at = None
        beat_at = 0.0
        while not self._stop_event.wait(INTERVAL_S):
            rss = self._process.memory_info().rss
            now = time.monotonic()
            if now - beat_at >= HEARTBEAT_S:
                self.beat(rss)
                beat_at = now
            if rss <= self.limit:
                continue
            if raised_at is None:
                raised_at = now
                self._raise_in_trainer(rss)
            elif rss > GRACE_FACTOR * self.limit or now - raised_at > GRACE_S:
                if self._writes:
                    note_killed(self.experiment, self.trial, out_of_memory_message(rss, self.limit))
                os.kill(os.getpid(), signal.SIGKILL)

    def _raise_in_trainer(self, rss: int) -> None:
        error = type("TrialOutOfMemoryAt", (TrialOutOfMemory,), {"__init__": _message_init(rss, self.limit)})
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.trainer), ctypes.py_object(error))

    def beat(self, rss: int | None = None) -> None:
        """Write what the worker holds and the machine has left, and the worker's process id."""
        if not self._writes:
            return
        memory = psutil.virtual_memory()
        beat = {"pid": os.getpid(), "rss": self._process.memory_info().rss if rss is None else rss,
                "available": memory.available, "total": memory.total}
        with contextlib.suppress(OSError):
            path = heartbeat_path(self.experiment, self.trial)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(beat))


def _message_init(rss: int, limit: int):
    """An exception raised in another thread is given as a class and made there without arguments: its message
    comes from its __init__."""
    def __init__(self, *args) -> None:
        TrialOutOfMemory.__init__(self, out_of_memory_message(rss, limit))

    return __init__
