"""Inference latency: wall time of a compiled forward pass on the device TensorFlow places the model on.

What is timed (STACK-NOTES.md, "Latency measurement"): `model.predict` carries ~37 ms of fixed overhead and eager
calls time Python's dispatch, so the model is wrapped in a `tf.function` of `model(x, training=False)` and fed a
fixed-shape `tf.constant`, on TensorFlow's default placement (a GPU when the process sees one, else the CPU),
with the process's own thread settings. Each call is waited for (`.numpy()`), so on a GPU a call includes
copying the input in and the result back, as a caller pays. Batch 1 is measured, and a larger batch (32 by
default) in the same measurement.

How, so that repeated measurements of a model agree within 10% on a machine shared with other work (the
development machine: a 2-core VM; `benchmarks/latency_spread.py` measures the spread):

- warm-up: `WARMUP_CALLS` calls per batch size (the first traces and compiles the graph);
- a time budget rather than a fixed count, like timeit's autorange: each batch size is timed for at least
  `MIN_SECONDS` and `MIN_CALLS` calls, in `ROUNDS` blocks that take turns between the batch sizes, so each figure
  comes from calls spread over the whole measurement rather than one stretch of it;
- the statistic: the smallest median of `WINDOW` consecutive calls. Interference only ever adds time and comes
  in stretches, so the figure is that of the least disturbed moment; it needs 3 of 5 consecutive calls that
  fast, where the single fastest call would be an optimistic outlier. The first version's median of 50 calls moved
  by 20-60% between measurements of the same model here;
- on a CPU, when TensorFlow runs on fewer threads than the process may use cores (a search trial runs on
  `--cpus-per-trial` threads, 1 by default), the process's threads are kept on that many cores while a block
  is timed (see `_CorePinning`). Unpinned, the calling thread and TensorFlow's executor thread hand every call
  over between cores, and on a VM what that costs changes for seconds at a time: a 1-thread LeNet call took
  0.49 ms pinned and anywhere from 0.50 to 0.76 ms unpinned, whatever the statistic. With every core in use
  (`nas.train`'s default) nothing is pinned, and other work on the machine shows in the figures.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import time
from dataclasses import dataclass
from typing import Sequence

DEFAULT_BATCH_SIZE = 32
WARMUP_CALLS = 10
MIN_SECONDS = 0.3  # timed per batch size; a small model's whole measurement (both batch sizes) stays under ~1 s
MIN_CALLS = 20
ROUNDS = 6  # the batch sizes take turns this many times at least
WINDOW = 5


@dataclass(frozen=True)
class LatencyMeasurement:
    """One measurement of a model's inference latency, with what it ran on."""

    batch_1_ms: float  # one example
    batch_ms: float  # `batch_size` examples in one call
    batch_size: int
    device: str  # "CPU", or the GPU's name (e.g. "NVIDIA H100 80GB HBM3")
    threads: int  # TensorFlow's intra-op threads: the configured count, else TF_NUM_INTRAOP_THREADS, else the cores
    repeats: int  # timed calls behind batch_1_ms
    batch_repeats: int  # timed calls behind batch_ms


def measure_latency(model, input_shape: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE, *,
                    warmup: int = WARMUP_CALLS, min_seconds: float = MIN_SECONDS,
                    min_calls: int = MIN_CALLS) -> LatencyMeasurement:
    """Latency of `model` at batch 1 and at `batch_size` (see the module's docstring for how)."""
    if batch_size < 1:
        raise ValueError(f"Expected batch_size >= 1. Received: {batch_size}")
    batch_sizes = (1,) if batch_size == 1 else (1, batch_size)
    figures, device = _time_calls(model, input_shape, batch_sizes, warmup, min_seconds, min_calls)
    (batch_1_ms, repeats), (batch_ms, batch_repeats) = figures[0], figures[-1]
    return LatencyMeasurement(batch_1_ms=batch_1_ms, batch_ms=batch_ms, batch_size=batch_size,
                              device=_device_name(device), threads=intra_op_threads(), repeats=repeats,
                              batch_repeats=batch_repeats)


def _time_calls(model, input_shape: Sequence[int], batch_sizes: Sequence[int], warmup: int, min_seconds: float,
                min_calls: int) -> tuple[list[tuple[float, int]], str]:
    """([(milliseconds, timed calls) per batch size], the output's device string).

    The batch sizes take turns in blocks of about `min_seconds / ROUNDS` (and at least `WINDOW` calls), so the
    calls behind each figure spread over the whole measurement rather than one stretch of it.
    """
    import tensorflow as tf

    forward = tf.function(lambda inputs: model(inputs, training=False))
    batches = [tf.constant(0.5, shape=(size, *input_shape), dtype=tf.float32) for size in batch_sizes]
    device = forward(batches[0]).device  # the first call traces and compiles the graph
    pinning = _CorePinning(intra_op_threads() if _is_cpu(device) else 0)
    try:
        return _timed_blocks(forward, batches, warmup, min_seconds, min_calls, pinning), device
    finally:
        pinning.restore()


def _timed_blocks(forward, batches, warmup: int, min_seconds: float, min_calls: int,
                  pinning: _CorePinning) -> list[tuple[float, int]]:
    for inputs in batches:
        for _ in range(max(1, warmup)):  # traces and compiles the graph for each shape
            forward(inputs).numpy()
    blocks: list[list[list[float]]] = [[] for _ in batches]
    while not all(len(timed) >= ROUNDS and sum(map(len, timed)) >= min_calls
                  and sum(map(sum, timed)) >= min_seconds for timed in blocks):
        for inputs, timed in zip(batches, blocks):
            pinning.pin()
            block: list[float] = []
            started = time.perf_counter()
            while len(block) < WINDOW or time.perf_counter() - started < min_seconds / ROUNDS:
                start = time.perf_counter()
                forward(inputs).numpy()  # .numpy() waits for the result, so the timing covers the whole pass
                block.append(time.perf_counter() - start)
            timed.append(block)
    return [(1000 * min(least_disturbed(block) for block in timed), sum(map(len, timed))) for timed in blocks]


def least_disturbed(timings: Sequence[float], window: int = WINDOW) -> float:
    """The smallest median of `window` consecutive timings (the median of all of them when there are fewer)."""
    if len(timings) <= window:
        return statistics.median(timings)
    return min(statistics.median(timings[start:start + window]) for start in range(len(timings) - window + 1))


class _CorePinning:
    """Keeps every thread of this process on `count` cores while a block of calls is timed; `restore` undoes it.

    Why: see the module's docstring. Before each block the threads are let go and the caller sleeps a moment, so
    the scheduler wakes it on a core that is free now; the block then runs on that core (and the next ones, up to
    `count`), so a measurement does not stay stuck on a core that other work took. Nothing changes when `count`
    covers every core this process may use, or where threads cannot be pinned (not Linux).
    """

    def __init__(self, count: int) -> None:
        try:
            self.allowed: set[int] = os.sched_getaffinity(0)
        except AttributeError:  # not Linux
            self.allowed = set()
        self.active = 0 < count < len(self.allowed) and os.path.isdir("/proc/self/task")
        self.count = count
        self.saved: dict[int, set[int]] = {}

    def pin(self) -> None:
        if not self.active:
            return
        self._set_all(lambda tid: self.allowed)
        time.sleep(0.001)  # woken on a free core
        order = sorted(self.allowed)
        current = _current_cpu()
        first = order.index(current) if current in self.allowed else 0
        cores = set((order[first:] + order[:first])[:self.count])
        self._set_all(lambda tid: cores)

    def restore(self) -> None:
        if self.saved:  # threads started meanwhile inherited a pinning: they get the process's cores
            self._set_all(lambda tid: self.saved.get(tid, self.allowed))

    def _set_all(self, mask) -> None:
        for tid in map(int, os.listdir("/proc/self/task")):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                if tid not in self.saved:
                    self.saved[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, mask(tid))


def _current_cpu() -> int | None:
    try:
        with open("/proc/thread-self/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[36])  # field 39, "processor"
    except (OSError, IndexError, ValueError):
        return None


def _is_cpu(device: str) -> bool:
    import tensorflow as tf

    return (tf.DeviceSpec.from_string(device or "/device:CPU:0").device_type or "CPU").upper() == "CPU"


def intra_op_threads() -> int:
    """TensorFlow's intra-op thread count: as configured, else TF_NUM_INTRAOP_THREADS, else the usable cores."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    if configured > 0:
        return configured
    from_environment = os.environ.get("TF_NUM_INTRAOP_THREADS", "").strip()
    if from_environment.isdigit() and int(from_environment) > 0:  # TensorFlow reads it when it starts
        return int(from_environment)
    try:  # what TensorFlow defaults to: the cores this process may run on
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _device_name(device: str) -> str:
    """'CPU' for a CPU; a GPU's model name where TensorFlow knows it, else its device string such as 'GPU:0'."""
    import tensorflow as tf

    spec = tf.DeviceSpec.from_string(device or "/device:CPU:0")
    kind, index = (spec.device_type or "CPU").upper(), spec.device_index or 0
    if kind == "CPU":
        return "CPU"
    physical = tf.config.list_physical_devices(kind)
    if index < len(physical):
        name = tf.config.experimental.get_device_details(physical[index]).get("device_name")
        if name:
            return name
    return f"{kind}:{index}"
