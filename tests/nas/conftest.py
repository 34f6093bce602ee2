"""Tiny image datasets written as keras-layout .npz files, so commands run end to end in seconds; one Ray for the
searches of a module; a search started, then killed at the moment a test needs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest


def write_tiny_npz(path, side: int, classes: int = 3, train: int = 600, test: int = 150) -> str:
    """side x side images of `classes` classes, each class a bright row on noise: learnable in one epoch."""
    rng = np.random.default_rng(0)

    def make(count):
        labels = rng.integers(0, classes, size=count)
        images = rng.integers(0, 60, size=(count, side, side)).astype("uint8")
        images[np.arange(count), labels * (side // classes), :] = 250
        return images, labels.astype("uint8")

    (x_train, y_train), (x_test, y_test) = make(train), make(test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return str(path)


@pytest.fixture(scope="module")
def tiny_4x4(tmp_path_factory) -> str:
    """4x4 images: cnn architectures with 3 pooling blocks cannot fit them and fail."""
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny4.npz", side=4)


@pytest.fixture(scope="module")
def tiny_8x8(tmp_path_factory) -> str:
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny8.npz", side=8)


@pytest.fixture(scope="module")
def shared_ray(tmp_path_factory):
    """One local Ray for the searches of a test module, started as a search starts its own: a search that finds Ray
    running uses it and leaves it running (nas.runner.cluster.start_ray), which saves each search Ray's start and
    stop (about 4 s). Searches that check what a search does with a Ray of its own (its session files, its watch
    over Ray's processes) do not ask for this."""
    from nas.runner import cluster

    cluster.start_ray(None, tmp_path_factory.mktemp("shared-ray"), [])
    yield
    cluster.stop_ray()


def start_search(argv: list[str], repo: Path) -> subprocess.Popen:
    """`python -m nas.search ARGV` as a user starts it, in a process group of its own, so that the Ray processes it
    leaves behind when it is killed can be ended with it (sigkill_when)."""
    return subprocess.Popen([sys.executable, "-m", "nas.search", *argv], cwd=repo,
                            env={**os.environ, "PYTHONPATH": str(repo)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def sigkill_when(driver: subprocess.Popen, ready: Callable[[], bool], what: str, within_s: float = 240) -> None:
    """SIGKILL the search `driver` as soon as `ready()` holds (checked every 0.2 s; an exception from it, such as a
    store not created yet, counts as not yet), then the Ray processes it had started. Fails the test if the search
    ends first, or if `what` has not happened within `within_s`."""
    try:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                if ready():
                    break
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            assert driver.poll() is None, "the search ended before it could be killed"
        else:
            pytest.fail(f"{what} within {within_s:.0f} s")
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the Ray processes the killed driver had started
        except ProcessLookupError:
            pass
