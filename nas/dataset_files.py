"""Reading image datasets from files, and checking that their arrays make sense as a classification task.

A user's .npz arrives here, so every check raises a one-line UsageError saying what was received and expected.
"""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np

from nas.cli_common import UsageError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_NPZ_LAYOUT = "Expected a .npz file in the keras layout (x_train, y_train, x_test, y_test)"


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train, y_train, x_test, y_test from a .npz in the keras layout (numpy's npz reader does the work)."""
    if not path.is_file():
        problem = "a directory" if path.is_dir() else "a file that does not exist"
        raise UsageError(f"{_NPZ_LAYOUT}. Received: '{path}', {problem}.")
    try:
        # No pickles: a data file must not be able to run code.
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise UsageError(f"{_NPZ_LAYOUT}. Received: '{path}', which numpy cannot read ({_one_line(error)}).") \
            from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UsageError(f"{_NPZ_LAYOUT}. Received: '{path}', a single .npy array.")
    with archive:
        missing = [key for key in NPZ_KEYS if key not in archive.files]
        if missing:
            raise UsageError(f"{_NPZ_LAYOUT}. Received: '{path}', which lacks {', '.join(missing)} "
                             f"(it holds: {', '.join(archive.files) or 'nothing'}).")
        try:
            x_train, y_train, x_test, y_test = (archive[key] for key in NPZ_KEYS)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise UsageError(f"{_NPZ_LAYOUT}. Received: '{path}', whose arrays numpy cannot read "
                             f"({_one_line(error)}).") from error
    return x_train, y_train, x_test, y_test


def read_idx(path: Path) -> np.ndarray:
    """A gzipped IDX file (LeCun's MNIST format): 0, 0, type 0x08 (unsigned byte), rank, big-endian int32 sizes."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise UsageError(f"Expected '{path}' to be a gzipped IDX file of unsigned bytes. Received: another format.")
    rank = data[3]
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">i4", count=rank, offset=4))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def validate_arrays(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check images and labels; return the labels as int32 (N,). The images are left untouched."""
    for key, images in (("x_train", x_train), ("x_test", x_test)):
        if images.ndim not in (3, 4):
            raise UsageError(f"Expected {key} to be images shaped (N, H, W) or (N, H, W, C). "
                             f"Received: shape {images.shape}.")
        if images.dtype.kind not in "uif":
            raise UsageError(f"Expected {key} to hold integer or float pixels. Received: dtype {images.dtype}.")
        if len(images) == 0:
            raise UsageError(f"Expected {key} to hold at least one image. Received: shape {images.shape}.")
        if images.dtype.kind == "f" and not np.isfinite(images).all():
            raise UsageError(f"Expected {key} to hold finite pixel values. Received: NaN or infinity.")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UsageError(f"Expected x_train and x_test to share one image shape. "
                         f"Received: {x_train.shape[1:]} and {x_test.shape[1:]}.")
    train_labels = _labels("y_train", y_train, "x_train", len(x_train))
    test_labels = _labels("y_test", y_test, "x_test", len(x_test))
    classes = np.unique(train_labels)
    if len(classes) < 2:
        raise UsageError(f"Expected at least 2 classes in y_train. Received: {len(classes)} "
                         f"(labels {_listed(classes)}).")
    unseen = np.setdiff1d(np.unique(test_labels), classes)
    if unseen.size:
        raise UsageError(f"Expected y_test to use only classes seen in y_train ({_listed(classes)}). "
                         f"Received: {_listed(unseen)}.")
    return train_labels, test_labels


def _labels(key: str, labels: np.ndarray, images_key: str, count: int) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # keras.datasets.cifar10 ships its labels as (N, 1)
    if labels.ndim != 1:
        raise UsageError(f"Expected {key} to be labels shaped (N,) or (N, 1). Received: shape {labels.shape}.")
    if len(labels) != count:
        raise UsageError(f"Expected one label in {key} per image in {images_key} ({count}). "
                         f"Received: {len(labels)} labels.")
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            raise UsageError(f"Expected {key} to hold integer class labels. "
                             f"Received: values such as {labels[~whole][0].item()!r}.")
    elif labels.dtype.kind not in "iu":
        raise UsageError(f"Expected {key} to hold integer class labels. Received: dtype {labels.dtype}.")
    if labels.min() < 0 or labels.max() > np.iinfo(np.int32).max:
        raise UsageError(f"Expected {key} to hold class labels from 0 up. "
                         f"Received: labels from {labels.min()} to {labels.max()}.")
    return labels.astype(np.int32)


def _listed(values: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(value) for value in values[:limit].tolist())
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
