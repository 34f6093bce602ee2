"""Shared test set-up: keep TensorFlow, Keras and Ray quiet and out of the home folder."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

# Must be set before TensorFlow is imported by any test: one thread keeps timings steady on a shared machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
_HOME = tempfile.mkdtemp(prefix="nas-tests-")
os.environ.setdefault("KERAS_HOME", os.path.join(_HOME, "keras"))
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_HOME, "matplotlib"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
