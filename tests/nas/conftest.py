"""Tiny image datasets written as keras-layout .npz files, so commands run end to end in seconds."""
from __future__ import annotations

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
