"""nas.data.datasets: the data sets nas knows by name (the bundled MNIST, scikit-learn's digits, Fashion-MNIST,
CIFAR-10), as nas.search sees them once checked and split."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from nas.data import datasets
from nas.data.task_data import TaskData
from nas.data.sources import load_data
from nas.data.datasets import DATASETS
from nas.errors import DataError

MNIST_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # the standard training set


@pytest.fixture(scope="module")
def mnist() -> TaskData:
    return load_data(dataset="mnist")


@pytest.fixture(scope="module")
def raw_mnist() -> dict[str, np.ndarray]:
    with np.load(datasets.MNIST_PATH) as archive:
        return {key: archive[key] for key in archive.files}


def proportions(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.bincount(labels, minlength=classes) / len(labels)


def test_mnist_parts_are_float_images_in_unit_range_and_int_labels(mnist):
    assert mnist.name == "mnist" and mnist.task == "classification"
    assert mnist.x_train.shape == (54000, 28, 28, 1)
    assert mnist.x_validation.shape == (6000, 28, 28, 1)
    assert mnist.x_test.shape == (10000, 28, 28, 1)
    for images, labels in ((mnist.x_train, mnist.y_train), (mnist.x_validation, mnist.y_validation),
                           (mnist.x_test, mnist.y_test)):
        assert images.dtype == np.float32 and labels.dtype == np.int32
        assert labels.shape == (len(images),)
        assert images.min() == 0.0 and images.max() == 1.0
    assert mnist.input_shape == (28, 28, 1) and mnist.num_outputs == 10


def test_mnist_validation_and_training_share_out_every_training_example(mnist, raw_mnist):
    assert len(mnist.y_train) + len(mnist.y_validation) == 60000
    recombined = np.bincount(mnist.y_train, minlength=10) + np.bincount(mnist.y_validation, minlength=10)
    assert recombined.tolist() == MNIST_CLASS_COUNTS
    # Disjoint: the summed ink of every training image, as a multiset, is the shipped training set's.
    ink = lambda images: np.sort(np.rint(images.reshape(len(images), -1).sum(axis=1) * 255))  # noqa: E731
    shipped = np.sort(raw_mnist["x_train"].reshape(60000, -1).sum(axis=1, dtype=np.int64))
    assert np.array_equal(np.sort(np.concatenate([ink(mnist.x_train), ink(mnist.x_validation)])), shipped)


def test_mnist_test_set_stays_as_shipped(mnist, raw_mnist):
    assert np.array_equal(mnist.y_test, raw_mnist["y_test"])
    assert np.array_equal(np.rint(mnist.x_test[..., 0] * 255).astype(np.uint8), raw_mnist["x_test"])


def test_mnist_validation_is_stratified(mnist):
    difference = np.abs(proportions(mnist.y_validation, 10) - proportions(mnist.y_train, 10))
    assert difference.max() < 0.002


def test_mnist_training_subset_is_stratified_and_seeded(mnist):
    subset = mnist.training_subset(1000, seed=1)
    assert subset.x_train.shape == (1000, 28, 28, 1) and subset.y_train.shape == (1000,)
    assert np.abs(proportions(subset.y_train, 10) - proportions(mnist.y_train, 10)).max() < 0.003
    assert subset.x_validation is mnist.x_validation and subset.x_test is mnist.x_test
    again = mnist.training_subset(1000, seed=1)
    assert np.array_equal(again.y_train, subset.y_train) and np.array_equal(again.x_train, subset.x_train)
    assert not np.array_equal(mnist.training_subset(1000, seed=2).x_train, subset.x_train)


def test_tampered_mnist_fails_its_checksum(tmp_path, monkeypatch, mnist):
    tampered = tmp_path / "mnist.npz"
    shutil.copyfile(datasets.MNIST_PATH, tampered)
    with tampered.open("r+b") as file:
        file.seek(5_000_000)
        byte = file.read(1)
        file.seek(5_000_000)
        file.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(datasets, "MNIST_PATH", tampered)
    with pytest.raises(DataError, match="damaged. Expected sha256 06af5dfe"):
        load_data(dataset="mnist")


def test_digits_are_scaled_8x8_images_split_into_three_stratified_parts():
    digits = load_data(dataset="digits")
    assert digits.input_shape == (8, 8, 1) and digits.num_outputs == 10
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int32
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    assert len(digits.y_test) == 360  # the fixed 20% test part of 1,797 images
    assert len(digits.y_train) + len(digits.y_validation) + len(digits.y_test) == 1797
    assert len(digits.y_validation) == 144  # 10% of the 1,437 training images, rounded up
    for labels in (digits.y_train, digits.y_validation, digits.y_test):
        assert np.bincount(labels, minlength=10).min() > 0
    assert np.array_equal(load_data(dataset="digits", seed=5).y_test, digits.y_test)


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(DataError) as caught:
        load_data(dataset="imagenet")
    assert str(caught.value) == ("Unknown dataset 'imagenet'. Expected one of: mnist, fashion_mnist, cifar10, "
                                 "digits, or your own data")
    assert DATASETS == ("mnist", "fashion_mnist", "cifar10", "digits")


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">i4").tobytes()
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_is_read_from_debian_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    parts = [rng.integers(0, 256, (60, 28, 28)), np.arange(60) % 10, rng.integers(0, 256, (20, 28, 28)),
             np.arange(20) % 10]
    for file_name, array in zip(datasets.FASHION_MNIST_FILES, parts):
        _write_idx(tmp_path / file_name, array)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRECTORY", tmp_path)
    fashion = load_data(dataset="fashion_mnist", validation_fraction=1 / 3)
    assert fashion.name == "fashion_mnist" and fashion.input_shape == (28, 28, 1)
    assert len(fashion.y_train) == 40 and len(fashion.y_validation) == 20
    assert np.array_equal(np.rint(fashion.x_test[..., 0] * 255), parts[2])
    assert np.array_equal(fashion.y_test, parts[3])


@pytest.mark.skipif(not all((datasets.FASHION_MNIST_DIRECTORY / name).is_file()
                            for name in datasets.FASHION_MNIST_FILES),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_installed_debian_fashion_mnist_loads():
    fashion = load_data(dataset="fashion_mnist")
    assert fashion.x_train.shape == (54000, 28, 28, 1) and fashion.x_test.shape == (10000, 28, 28, 1)
    assert fashion.num_outputs == 10 and fashion.x_train.max() == 1.0


def _fake_keras(monkeypatch, name: str, load) -> None:
    loader = types.SimpleNamespace(load_data=load)
    module = types.SimpleNamespace(datasets=types.SimpleNamespace(**{name: loader}))
    monkeypatch.setitem(sys.modules, "keras", module)


def _offline():
    raise Exception("URL fetch failure on https://example.invalid: None -- [Errno -2] Name or service not known")


def test_fashion_mnist_offline_without_debian_package_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRECTORY", tmp_path)
    _fake_keras(monkeypatch, "fashion_mnist", _offline)
    with pytest.raises(DataError) as caught:
        load_data(dataset="fashion_mnist")
    assert str(caught.value) == (
        "Fashion-MNIST is not available offline. Expected Debian's dataset-fashion-mnist package "
        "(apt-get install dataset-fashion-mnist), a network connection for keras.datasets, or your own data.")


def test_cifar10_offline_is_one_line_data_error(monkeypatch):
    _fake_keras(monkeypatch, "cifar10", _offline)
    with pytest.raises(DataError, match=r"^CIFAR-10 is not available offline\. Expected .*or your own data\.$"):
        load_data(dataset="cifar10")


def test_cifar10_from_keras_flattens_its_column_labels(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = ((rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), (np.arange(40) % 10)[:, None]),
              (rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), (np.arange(10) % 10)[:, None]))
    _fake_keras(monkeypatch, "cifar10", lambda: arrays)
    cifar = load_data(dataset="cifar10", validation_fraction=0.25)
    assert cifar.input_shape == (32, 32, 3) and cifar.num_outputs == 10
    assert cifar.y_train.shape == (30,) and cifar.y_test.tolist() == list(range(10))


def test_importing_the_data_modules_loads_neither_keras_nor_tensorflow_nor_scikit_learn():
    code = ("import sys, nas.data.datasets, nas.data.task_data, nas.data.sources, nas.data.files; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=environment).stdout
    assert output.strip() == "[]"
