"""Inference latency: median wall time of a compiled forward pass, as STACK-NOTES.md measured honest on CPU.

`model.predict` carries ~37 ms of fixed overhead and eager calls time Python's dispatch, so the model is wrapped
in a `tf.function`, fed one fixed-shape constant, warmed up, and timed over many calls.
"""
from __future__ import annotations

import statistics
import time
from typing import Sequence


def measure_latency_ms(model, input_shape: Sequence[int], batch_size: int = 1, warmup: int = 10,
                       repeats: int = 50) -> float:
    """Median milliseconds for one forward pass of a batch of `batch_size` examples."""
    import tensorflow as tf

    forward = tf.function(lambda inputs: model(inputs, training=False))
    inputs = tf.constant(0.5, shape=(batch_size, *input_shape), dtype=tf.float32)
    for _ in range(warmup):  # the first calls trace and compile the graph
        forward(inputs).numpy()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(inputs).numpy()  # .numpy() waits for the result, so the timing covers the whole pass
        timings.append(time.perf_counter() - start)
    return 1000 * statistics.median(timings)
