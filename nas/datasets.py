"""The image datasets a search trains on, each split into training, validation and test parts.

Architectures are selected on the validation part, which is carved out of the shipped training set; the shipped
test set is kept whole and is touched once, by the final training of the best architectures. Images come back as
float32 in [0, 1] shaped (N, H, W, C), labels as int32 shaped (N,).
scikit-learn and Keras are imported only where they are used: importing this module must keep `--help` fast.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import numbers
from pathlib import Path

import numpy as np

from nas.cli_common import UsageError
from nas.dataset_files import read_idx, read_npz, validate_arrays

logger = logging.getLogger(__name__)

DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits")

MNIST_PATH = Path(__file__).resolve().parent / "data" / "mnist.npz"
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
# Where Debian's package dataset-fashion-mnist installs Zalando's IDX files.
FASHION_MNIST_DIRECTORY = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                       "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0

_OFFLINE_MESSAGES = {
    "fashion_mnist": "Fashion-MNIST is not available offline. Expected Debian's dataset-fashion-mnist package "
                     "(apt-get install dataset-fashion-mnist), a network connection for keras.datasets, "
                     "or --data PATH.npz.",
    "cifar10": "CIFAR-10 is not available offline. Expected a network connection for keras.datasets "
               "(or its cached copy under ~/.keras/datasets), or --data PATH.npz.",
}
_verified_files: set[Path] = set()


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """One dataset's three parts: images (N, H, W, C) float32 in [0, 1], labels (N,) int32."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(size) for size in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        # Labels index the softmax outputs, so the width is the largest label + 1, even if a label is never used.
        parts = (self.y_train, self.y_validation, self.y_test)
        return int(max(labels.max() for labels in parts if labels.size)) + 1

    def training_subset(self, size: int, seed: int) -> Dataset:
        """The same dataset with its training part cut to a stratified random `size` examples (self if larger)."""
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise UsageError(f"Expected a training subset size >= 1. Received: {size!r}.")
        total = len(self.y_train)
        if size >= total:
            return self
        _, class_counts = np.unique(self.y_train, return_counts=True)
        if size < len(class_counts):
            raise UsageError(f"Expected a training subset of at least one example per class "
                             f"(>= {len(class_counts)}). Received: {size}.")
        if class_counts.min() >= 2 and total - size >= len(class_counts):
            from sklearn.model_selection import train_test_split

            # scikit-learn's train_test_split keeps the class proportions of the full training part.
            index, _ = train_test_split(np.arange(total), train_size=int(size), stratify=self.y_train,
                                        random_state=seed)
        else:
            # scikit-learn cannot stratify with a one-example class or fewer than one left-out example per class.
            index = np.random.default_rng(seed).choice(total, size=int(size), replace=False)
        return dataclasses.replace(self, x_train=self.x_train[index], y_train=self.y_train[index])

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={len(self.y_train)}, validation={len(self.y_validation)}, "
                f"test={len(self.y_test)}, input_shape={self.input_shape}, num_classes={self.num_classes})")


def load_dataset(name: str = "mnist", path: str | Path | None = None, *,
                 validation_size: int | float = 5000, seed: int = 0) -> Dataset:
    """Load a dataset and carve a stratified, seeded validation part out of its training set.

    name: one of DATASETS. `mnist` is the copy bundled with nas; `digits` is scikit-learn's 8x8 digits, split
    once into training and test with a stratified 20% test part (random_state 0) since it ships as one set;
    `fashion_mnist` reads Debian's dataset-fashion-mnist package, else keras.datasets; `cifar10` keras.datasets.
    path: a .npz in the keras layout (x_train, y_train, x_test, y_test); it wins over `name`, which then labels
    it (the file stem labels it when `name` is left at "mnist").
    validation_size: a count (int) or a fraction of the training set (float). It is clamped to at most half the
    training set, and raised where needed so that every class has examples in both parts.
    """
    _check_validation_size(validation_size)
    if path is not None:
        label = Path(path).stem if name == "mnist" else name
        arrays = read_npz(Path(path).expanduser())
    elif name == "mnist":
        label, arrays = name, _read_mnist()
    elif name == "digits":
        label, arrays = name, _read_digits()
    elif name == "fashion_mnist":
        files = [FASHION_MNIST_DIRECTORY / file_name for file_name in FASHION_MNIST_FILES]
        if all(file.is_file() for file in files):
            label, arrays = name, tuple(read_idx(file) for file in files)
        else:
            label, arrays = name, _download_with_keras(name)
    elif name == "cifar10":
        label, arrays = name, _download_with_keras(name)
    else:
        raise UsageError(f"Unknown dataset {name!r}. Expected one of: {', '.join(DATASETS)}, or --data PATH.npz.")
    x_train, y_train, x_test, y_test = arrays
    y_train, y_test = validate_arrays(x_train, y_train, x_test, y_test)
    train_index, validation_index = _stratified_split(y_train, validation_size, seed)
    offset, divisor = _pixel_scale(x_train)
    dataset = Dataset(label,
                      _images(x_train[train_index], offset, divisor), y_train[train_index],
                      _images(x_train[validation_index], offset, divisor), y_train[validation_index],
                      _images(x_test, offset, divisor), y_test)
    logger.info("Loaded %r", dataset)
    return dataset


def _read_mnist() -> tuple[np.ndarray, ...]:
    if not MNIST_PATH.is_file():
        raise UsageError(f"Expected the bundled MNIST file at {MNIST_PATH}. Received: no such file; "
                         f"reinstall nas, or pass --data PATH.npz.")
    _verify_sha256(MNIST_PATH, MNIST_SHA256)
    return read_npz(MNIST_PATH)


def _verify_sha256(path: Path, expected: str) -> None:
    """Catch a damaged or altered copy before it silently skews every accuracy; once per file and process."""
    if path in _verified_files:
        return
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise UsageError(f"The bundled MNIST file {path} is damaged. Expected sha256 {expected}. "
                         f"Received: {digest.hexdigest()}. Reinstall nas to restore it.")
    _verified_files.add(path)


def _read_digits() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # Pixels are ink counts 0..16; scaled here so the generic scaling below leaves them as they are.
    images = digits.images / 16.0
    # scikit-learn ships digits as one set: a fixed stratified split makes its test part as stable as a shipped one.
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=DIGITS_TEST_FRACTION, stratify=digits.target,
        random_state=DIGITS_SPLIT_SEED)
    return x_train, y_train, x_test, y_test


def _download_with_keras(name: str) -> tuple[np.ndarray, ...]:
    try:
        import keras  # heavy, and only these two datasets need it

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # Keras reports a failed download as a bare Exception
        logger.debug("keras.datasets.%s.load_data() failed: %s", name, error)
        raise UsageError(_OFFLINE_MESSAGES[name]) from error
    return x_train, y_train, x_test, y_test


def _check_validation_size(validation_size: object) -> None:
    if isinstance(validation_size, numbers.Integral) and not isinstance(validation_size, bool):
        valid = validation_size >= 1
    else:
        valid = isinstance(validation_size, numbers.Real) and 0 < validation_size < 1
    if not valid:
        raise UsageError(f"Expected validation_size to be a count >= 1 or a fraction between 0 and 1. "
                         f"Received: {validation_size!r}.")


def _stratified_split(labels: np.ndarray, validation_size: int | float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation parts: random, stratified and seeded, never a tail slice."""
    from sklearn.model_selection import train_test_split

    total = len(labels)
    requested = int(validation_size) if isinstance(validation_size, numbers.Integral) \
        else math.ceil(validation_size * total)  # rounded up, as scikit-learn rounds a test fraction
    classes, class_counts = np.unique(labels, return_counts=True)
    if class_counts.min() < 2:
        raise UsageError(f"Expected at least 2 training examples of every class, to put each class in both the "
                         f"training and validation parts. Received: 1 of class {classes[class_counts < 2][0]}.")
    # Proportional allocation gives every class a validation example once the part holds total / (smallest class)
    # examples; capping it at half leaves at least as much for training.
    lowest = max(len(classes), math.ceil(total / class_counts.min()))
    count = min(max(requested, lowest), total // 2)
    if count != requested:
        logger.warning("validation_size=%r does not fit %d training examples in %d classes; using %d.",
                       validation_size, total, len(classes), count)
    # scikit-learn's train_test_split shuffles with the seed and keeps each class's share in both parts.
    train_index, validation_index = train_test_split(np.arange(total), test_size=count, stratify=labels,
                                                     random_state=seed)
    if min(len(np.unique(labels[index])) for index in (train_index, validation_index)) < len(classes):
        raise UsageError(f"Expected every class in both the training and validation parts. Received: "
                         f"classes too small to split ({count} of {total} examples for validation).")
    return train_index, validation_index


def _pixel_scale(images: np.ndarray) -> tuple[float, float]:
    """(offset, divisor) that map the training images into [0, 1]."""
    if images.dtype == np.uint8:
        return 0.0, 255.0
    low, high = float(images.min()), float(images.max())
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    if low >= 0:
        return 0.0, high
    # Negative pixels (e.g. standardised images): the training range, not just the maximum, maps onto [0, 1].
    return low, (high - low) or 1.0


def _images(images: np.ndarray, offset: float, divisor: float) -> np.ndarray:
    """float32 (N, H, W, C) in [0, 1]; `images` is a fresh array (an index or a file's), so it may be reused."""
    scaled = images.astype(np.float32, copy=False)
    if not scaled.flags.writeable:
        scaled = scaled.copy()
    if offset:
        scaled -= offset
    if divisor != 1:
        scaled /= np.float32(divisor)
    if images.dtype != np.uint8:
        # Test images may lie beyond the training range.
        np.clip(scaled, 0.0, 1.0, out=scaled)
    return scaled if scaled.ndim == 4 else scaled[..., np.newaxis]
