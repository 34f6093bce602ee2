"""nas.datasets: the bundled MNIST, scikit-learn's digits, user .npz files, and the stratified seeded splits."""
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

from nas import datasets
from nas.cli_common import UsageError
from nas.datasets import DATASETS, Dataset, load_dataset

MNIST_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # the standard training set


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def raw_mnist() -> dict[str, np.ndarray]:
    with np.load(datasets.MNIST_PATH) as archive:
        return {key: archive[key] for key in archive.files}


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def indexed_arrays(classes: int = 10, per_class: int = 100) -> dict[str, np.ndarray]:
    """Training images whose pixels hold their own index, with labels sorted by class, so a split can be traced."""
    total = classes * per_class
    x_train = np.repeat(np.arange(total, dtype=np.float64), 4).reshape(total, 2, 2)
    y_train = np.repeat(np.arange(classes), per_class)
    rng = np.random.default_rng(0)
    return {"x_train": x_train, "y_train": y_train,
            "x_test": rng.uniform(0, total - 1, size=(50, 2, 2)), "y_test": rng.integers(0, classes, 50)}


def training_indices(images: np.ndarray, total: int) -> np.ndarray:
    """Undo indexed_arrays' scaling (divided by the training maximum, total - 1) to recover each image's index."""
    return np.rint(images[:, 0, 0, 0].astype(np.float64) * (total - 1)).astype(int)


def proportions(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.bincount(labels, minlength=classes) / len(labels)


# The bundled MNIST

def test_mnist_parts_are_float_images_in_unit_range_and_int_labels(mnist):
    assert mnist.name == "mnist"
    assert mnist.x_train.shape == (55000, 28, 28, 1)
    assert mnist.x_validation.shape == (5000, 28, 28, 1)
    assert mnist.x_test.shape == (10000, 28, 28, 1)
    for images, labels in ((mnist.x_train, mnist.y_train), (mnist.x_validation, mnist.y_validation),
                           (mnist.x_test, mnist.y_test)):
        assert images.dtype == np.float32 and labels.dtype == np.int32
        assert labels.shape == (len(images),)
        assert images.min() == 0.0 and images.max() == 1.0
    assert mnist.input_shape == (28, 28, 1)
    assert mnist.num_classes == 10


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
    with pytest.raises(UsageError, match="damaged. Expected sha256 06af5dfe"):
        load_dataset("mnist")


# scikit-learn's digits

def test_digits_are_scaled_8x8_images_split_into_three_stratified_parts():
    digits = load_dataset("digits")
    assert digits.input_shape == (8, 8, 1) and digits.num_classes == 10
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int32
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    assert len(digits.y_test) == 360  # the fixed 20% test part of 1,797 images
    assert len(digits.y_train) + len(digits.y_validation) + len(digits.y_test) == 1797
    # The default 5,000 validation examples do not fit: clamped to half of what is left for training.
    assert len(digits.y_validation) == 1437 // 2
    for labels in (digits.y_train, digits.y_validation, digits.y_test):
        assert np.bincount(labels, minlength=10).min() > 0
    assert np.array_equal(load_dataset("digits", seed=5).y_test, digits.y_test)


# User .npz files: splits

def test_split_is_seeded_and_disjoint(tmp_path):
    path = write_npz(tmp_path / "indexed.npz", **indexed_arrays())
    first = load_dataset(path=path, validation_size=200, seed=0)
    train, validation = training_indices(first.x_train, 1000), training_indices(first.x_validation, 1000)
    assert len(validation) == 200
    assert not set(train) & set(validation)
    assert sorted(np.concatenate([train, validation])) == list(range(1000))
    assert np.array_equal(first.y_validation, np.arange(1000)[validation] // 100)  # images keep their labels
    same = load_dataset(path=path, validation_size=200, seed=0)
    assert np.array_equal(training_indices(same.x_validation, 1000), validation)
    other = load_dataset(path=path, validation_size=200, seed=1)
    assert set(training_indices(other.x_validation, 1000)) != set(validation)


def test_sorted_by_class_file_gives_a_validation_part_with_every_class(tmp_path):
    path = write_npz(tmp_path / "sorted.npz", **indexed_arrays())
    dataset = load_dataset(path=path, validation_size=0.1)
    assert len(dataset.y_validation) == 100
    assert np.bincount(dataset.y_validation, minlength=10).tolist() == [10] * 10


def test_training_subset_keeps_image_label_pairs_and_returns_self_when_too_big(tmp_path):
    dataset = load_dataset(path=write_npz(tmp_path / "indexed.npz", **indexed_arrays()), validation_size=100)
    subset = dataset.training_subset(90, seed=0)
    assert len(subset.y_train) == 90
    assert np.bincount(subset.y_train, minlength=10).tolist() == [9] * 10
    assert np.array_equal(subset.y_train, training_indices(subset.x_train, 1000) // 100)
    assert dataset.training_subset(900, seed=0) is dataset
    assert dataset.training_subset(10_000, seed=0) is dataset
    with pytest.raises(UsageError, match="at least one example per class"):
        dataset.training_subset(5, seed=0)
    with pytest.raises(UsageError, match="Received: 0"):
        dataset.training_subset(0, seed=0)


@pytest.mark.parametrize("validation_size", [0, -3, 0.0, 1.0, 1.5, True, "10"])
def test_bad_validation_size_is_refused(tmp_path, validation_size):
    path = write_npz(tmp_path / "indexed.npz", **indexed_arrays())
    with pytest.raises(UsageError, match="Expected validation_size to be a count >= 1 or a fraction"):
        load_dataset(path=path, validation_size=validation_size)


def test_a_rare_class_raises_the_validation_size_so_it_appears_in_both_parts(tmp_path):
    arrays = indexed_arrays(classes=2, per_class=100)
    arrays["y_train"] = np.array([0] * 196 + [1] * 4)
    dataset = load_dataset(path=write_npz(tmp_path / "rare.npz", **arrays), validation_size=10)
    assert len(dataset.y_validation) == 50  # 200 examples / 4 in the rarest class
    assert set(dataset.y_validation) == set(dataset.y_train) == {0, 1}


# User .npz files: naming and pixel scaling

def test_path_dataset_is_named_by_its_stem_or_by_the_name_given(tmp_path):
    path = write_npz(tmp_path / "my_digits.npz", **indexed_arrays())
    assert load_dataset(path=path).name == "my_digits"
    assert load_dataset("digits", path=str(path)).name == "digits"
    assert load_dataset("handwriting", path=path).input_shape == (2, 2, 1)


def test_pixels_are_divided_by_the_training_maximum_and_clipped(tmp_path):
    arrays = indexed_arrays(classes=2, per_class=10)
    arrays["x_train"] = (arrays["x_train"] * 50).astype(np.uint16)  # 0 .. 950
    arrays["x_train"] = arrays["x_train"][..., np.newaxis]
    arrays["x_test"], arrays["y_test"] = np.full((4, 2, 2, 1), 1900, dtype=np.uint16), np.array([0, 1, 0, 1])
    dataset = load_dataset(path=write_npz(tmp_path / "wide.npz", **arrays), validation_size=4)
    assert dataset.x_train.dtype == np.float32 and dataset.x_train.max() == pytest.approx(1.0)
    assert sorted(np.concatenate([dataset.x_train, dataset.x_validation])[:, 0, 0, 0] * 950) == \
        pytest.approx(range(0, 1000, 50))
    assert dataset.x_test.max() == 1.0


def test_negative_pixels_are_mapped_by_the_training_range_and_unit_floats_are_kept(tmp_path):
    arrays = indexed_arrays(classes=2, per_class=10)
    arrays["x_train"] = arrays["x_train"] - 10.0  # -10 .. 9
    negative = load_dataset(path=write_npz(tmp_path / "negative.npz", **arrays), validation_size=4)
    training_pixels = np.concatenate([negative.x_train, negative.x_validation])[:, 0, 0, 0]
    assert sorted(training_pixels) == pytest.approx(np.linspace(0, 1, 20))  # (x + 10) / 19, nothing clipped
    arrays["x_train"] = (arrays["x_train"] + 10.0) / 40.0  # 0 .. 0.475: already in [0, 1]
    arrays["x_test"] = arrays["x_test"] / 100
    kept = load_dataset(path=write_npz(tmp_path / "unit.npz", **arrays), validation_size=4)
    assert np.concatenate([kept.x_train, kept.x_validation]).max() == pytest.approx(0.475)


def test_whole_number_float_labels_are_accepted(tmp_path):
    arrays = indexed_arrays(classes=3, per_class=10)
    arrays["y_train"] = arrays["y_train"].astype(np.float32)
    arrays["y_test"] = (arrays["y_test"] % 3).astype(np.float64)[:, np.newaxis]
    dataset = load_dataset(path=write_npz(tmp_path / "float_labels.npz", **arrays), validation_size=6)
    assert dataset.y_train.dtype == np.int32 and dataset.y_test.shape == (50,)
    assert dataset.num_classes == 3


# User .npz files: what is refused

def _valid() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (40, 4, 4), dtype=np.uint8), "y_train": np.repeat(np.arange(4), 10),
            "x_test": rng.integers(0, 256, (8, 4, 4), dtype=np.uint8), "y_test": np.arange(8) % 4}


def _changed(**changes) -> dict[str, np.ndarray]:
    arrays = _valid()
    arrays.update(changes)
    return {key: value for key, value in arrays.items() if value is not None}


BAD_FILES = {
    "missing keys": (_changed(x_test=None, y_test=None), "lacks x_test, y_test"),
    "flat images": (_changed(x_train=np.zeros((40, 16), np.uint8)),
                    r"x_train to be images shaped .*\(40, 16\)"),
    "5-D images": (_changed(x_test=np.zeros((8, 4, 4, 1, 1), np.uint8)),
                   r"x_test to be images .*\(8, 4, 4, 1, 1\)"),
    "image shapes differ": (_changed(x_test=np.zeros((8, 5, 4), np.uint8)),
                            r"share one image shape.*\(4, 4\) and \(5, 4\)"),
    "too few labels": (_changed(y_train=np.arange(39) % 4),
                       r"one label in y_train per image in x_train \(40\)\. Received: 39"),
    "text pixels": (_changed(x_train=np.full((40, 4, 4), "a")), "integer or float pixels. Received: dtype <U1"),
    "boolean pixels": (_changed(x_test=np.ones((8, 4, 4), bool)), "integer or float pixels. Received: dtype bool"),
    "NaN pixels": (_changed(x_train=np.full((40, 4, 4), np.nan)), "finite pixel values"),
    "empty test set": (_changed(x_test=np.zeros((0, 4, 4), np.uint8), y_test=np.zeros(0, int)),
                       "at least one image"),
    "fractional labels": (_changed(y_train=np.repeat(np.arange(4), 10) + 0.5),
                          "integer class labels. Received: values such as 0.5"),
    "text labels": (_changed(y_test=np.array(list("abcdefgh"))), "integer class labels. Received: dtype <U1"),
    "label matrix": (_changed(y_train=np.zeros((40, 3), int)),
                     r"labels shaped \(N,\) or \(N, 1\). Received: shape \(40, 3\)"),
    "negative labels": (_changed(y_train=np.repeat(np.arange(4), 10) - 1),
                        "from 0 up. Received: labels from -1 to 2"),
    "unseen test labels": (_changed(y_test=np.arange(8)),
                           r"only classes seen in y_train \(0, 1, 2, 3\). Received: 4, 5, 6, 7"),
    "one class": (_changed(y_train=np.zeros(40, int), y_test=np.zeros(8, int)),
                  "at least 2 classes in y_train. Received: 1"),
    "one-example class": (_changed(y_train=np.array([0] * 20 + [1] * 19 + [2]), y_test=np.arange(8) % 3),
                          "at least 2 training examples of every class"),
}


@pytest.mark.parametrize("arrays, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_npz_is_refused_with_a_message_naming_the_problem(tmp_path, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UsageError, match=message) as caught:
        load_dataset(path=path, validation_size=8)
    assert "\n" not in str(caught.value)


def test_valid_base_of_the_bad_files_loads(tmp_path):
    dataset = load_dataset(path=write_npz(tmp_path / "good.npz", **_valid()), validation_size=8)
    assert dataset.input_shape == (4, 4, 1) and dataset.num_classes == 4


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_dataset(path=tmp_path / "absent.npz")
    with pytest.raises(UsageError, match="a directory"):
        load_dataset(path=tmp_path)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"these bytes are not a zip archive")
    with pytest.raises(UsageError, match="garbage.npz', which numpy cannot read"):
        load_dataset(path=garbage)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(UsageError, match="a single .npy array"):
        load_dataset(path=single)
    pickled = write_npz(tmp_path / "pickled.npz", **_changed(y_test=np.array([{}, []] * 4, dtype=object)))
    with pytest.raises(UsageError, match="whose arrays numpy cannot read"):
        load_dataset(path=pickled)


# Named datasets that come from elsewhere

def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(UsageError) as caught:
        load_dataset("imagenet")
    assert str(caught.value) == ("Unknown dataset 'imagenet'. Expected one of: mnist, fashion_mnist, cifar10, "
                                 "digits, or --data PATH.npz.")
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
    fashion = load_dataset("fashion_mnist", validation_size=20)
    assert fashion.name == "fashion_mnist" and fashion.input_shape == (28, 28, 1)
    assert len(fashion.y_train) == 40 and len(fashion.y_validation) == 20
    assert np.array_equal(np.rint(fashion.x_test[..., 0] * 255), parts[2])
    assert np.array_equal(fashion.y_test, parts[3])


@pytest.mark.skipif(not all((datasets.FASHION_MNIST_DIRECTORY / name).is_file()
                            for name in datasets.FASHION_MNIST_FILES),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_installed_debian_fashion_mnist_loads():
    fashion = load_dataset("fashion_mnist")
    assert fashion.x_train.shape == (55000, 28, 28, 1) and fashion.x_test.shape == (10000, 28, 28, 1)
    assert fashion.num_classes == 10 and fashion.x_train.max() == 1.0


def _fake_keras(monkeypatch, name: str, load_data) -> None:
    loader = types.SimpleNamespace(load_data=load_data)
    module = types.SimpleNamespace(datasets=types.SimpleNamespace(**{name: loader}))
    monkeypatch.setitem(sys.modules, "keras", module)


def _offline():
    raise Exception("URL fetch failure on https://example.invalid: None -- [Errno -2] Name or service not known")


def test_fashion_mnist_offline_without_debian_package_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRECTORY", tmp_path)
    _fake_keras(monkeypatch, "fashion_mnist", _offline)
    with pytest.raises(UsageError) as caught:
        load_dataset("fashion_mnist")
    assert str(caught.value) == (
        "Fashion-MNIST is not available offline. Expected Debian's dataset-fashion-mnist package "
        "(apt-get install dataset-fashion-mnist), a network connection for keras.datasets, or --data PATH.npz.")


def test_cifar10_offline_is_one_line_usage_error(monkeypatch):
    _fake_keras(monkeypatch, "cifar10", _offline)
    with pytest.raises(UsageError, match=r"^CIFAR-10 is not available offline\. Expected .*--data PATH\.npz\.$"):
        load_dataset("cifar10")


def test_cifar10_from_keras_flattens_its_column_labels(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = ((rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), (np.arange(40) % 10)[:, None]),
              (rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), (np.arange(10) % 10)[:, None]))
    _fake_keras(monkeypatch, "cifar10", lambda: arrays)
    cifar = load_dataset("cifar10", validation_size=10)
    assert cifar.input_shape == (32, 32, 3) and cifar.num_classes == 10
    assert cifar.y_train.shape == (30,) and cifar.y_test.tolist() == list(range(10))


def test_importing_datasets_loads_neither_keras_nor_tensorflow_nor_scikit_learn():
    code = ("import sys, nas.datasets; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=environment).stdout
    assert output.strip() == "[]"
