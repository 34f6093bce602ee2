"""The data sets nas knows by name, as arrays: the bundled MNIST, scikit-learn's 8x8 digits, Fashion-MNIST and
CIFAR-10. Each comes as its shipped training and test parts (uint8 images get their channel axis and are scaled to
[0, 1] by nas/data/task_data.py, like any uint8 data); the validation part is carved out of the training part there.

scikit-learn and Keras are imported only where they are used: importing this module must keep `--help` fast.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from nas.data.files import read_idx, read_npz
from nas.errors import DataError

logger = logging.getLogger(__name__)

DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits")

MNIST_PATH = Path(__file__).resolve().parent / "mnist.npz"  # bundled beside this module, with MNIST-NOTICE.md
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
                     "or your own data.",
    "cifar10": "CIFAR-10 is not available offline. Expected a network connection for keras.datasets "
               "(or its cached copy under ~/.keras/datasets), or your own data.",
}
_verified_files: set[Path] = set()


def read_dataset(name: str) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test of a data set nas knows by name."""
    if name == "mnist":
        return _read_mnist()
    if name == "digits":
        return _read_digits()
    if name == "fashion_mnist":
        files = [FASHION_MNIST_DIRECTORY / file_name for file_name in FASHION_MNIST_FILES]
        if all(file.is_file() for file in files):
            return dict(zip(("x_train", "y_train", "x_test", "y_test"), (read_idx(file) for file in files)))
        return _download_with_keras(name)
    if name == "cifar10":
        return _download_with_keras(name)
    raise DataError(f"Unknown dataset {name!r}. Expected one of: {', '.join(DATASETS)}, or your own data.")


def _read_mnist() -> dict[str, np.ndarray]:
    if not MNIST_PATH.is_file():
        raise DataError(f"Expected the bundled MNIST file at {MNIST_PATH}. Received: no such file; reinstall nas.")
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
        raise DataError(f"The bundled MNIST file {path} is damaged. Expected sha256 {expected}. "
                        f"Received: {digest.hexdigest()}. Reinstall nas to restore it.")
    _verified_files.add(path)


def _read_digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # Pixels are ink counts 0..16: scaled to [0, 1] here, with the channel axis the images of the others get.
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    # scikit-learn ships digits as one set: a fixed stratified split makes its test part as stable as a shipped one.
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=DIGITS_TEST_FRACTION, stratify=digits.target,
        random_state=DIGITS_SPLIT_SEED)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _download_with_keras(name: str) -> dict[str, np.ndarray]:
    try:
        import keras  # heavy, and only these two data sets need it

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # Keras reports a failed download as a bare Exception
        logger.debug("keras.datasets.%s.load_data() failed: %s", name, error)
        raise DataError(_OFFLINE_MESSAGES[name]) from error
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
