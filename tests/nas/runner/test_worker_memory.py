"""A reused worker frees what a trial left: the gradient functions TensorFlow registered for it above all
(nas/runner/worker_memory.py says why they held every trained model), and its memory allocator is Ray's jemalloc
(nas/runner/cluster.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from nas.runner.cluster import WORKER_ALLOCATOR_SETTINGS, start_ray, stop_ray
from nas.runner.worker_memory import gradient_registry, released_after


def _fit_once() -> None:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(np.zeros((8, 4), "float32"), np.zeros(8, "int64"), epochs=1, verbose=0)


def _custom_gradients() -> set[str]:
    return {name for name in gradient_registry() if name.startswith("CustomGradient-")}


def test_a_keras_fit_registers_custom_gradients_that_outlive_its_model():
    """The cause the module fixes: if Keras stops registering them, released_after's cleanup has nothing to do."""
    before = _custom_gradients()
    _fit_once()
    assert _custom_gradients() - before


def test_released_after_removes_the_gradients_the_trial_registered_and_keeps_older_ones():
    _fit_once()  # registered before the trial: not the trial's to remove
    older = _custom_gradients()
    with released_after():
        _fit_once()
        _fit_once()
        assert _custom_gradients() - older
    assert _custom_gradients() == older


def test_released_after_frees_even_when_the_trial_raises():
    older = _custom_gradients()
    try:
        with released_after():
            _fit_once()
            raise RuntimeError("the trial failed")
    except RuntimeError:
        pass
    assert _custom_gradients() == older


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps; Ray bundles jemalloc on Linux")
def test_the_workers_of_a_local_ray_allocate_with_rays_jemalloc(tmp_path):
    import ray

    assert start_ray(None, tmp_path, [])
    try:
        @ray.remote
        def allocator() -> tuple[bool, str | None]:
            return "libjemalloc" in Path("/proc/self/maps").read_text(), os.environ.get("MALLOC_CONF")

        loaded, settings = ray.get(allocator.remote())
    finally:
        stop_ray()
    assert loaded and settings == WORKER_ALLOCATOR_SETTINGS["MALLOC_CONF"]
