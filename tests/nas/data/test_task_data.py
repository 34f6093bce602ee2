"""nas.data.task_data: any arrays checked, their task settled and split into training and validation parts."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nas.data.task_data import prepare
from nas.data.task_data import Task
from nas.errors import DataError

REPO = Path(__file__).resolve().parents[3]


def indexed_arrays(classes: int = 10, per_class: int = 100) -> dict[str, np.ndarray]:
    """Examples whose values hold their own index, with labels sorted by class, so a split can be traced."""
    total = classes * per_class
    x_train = np.repeat(np.arange(total, dtype=np.float64), 4).reshape(total, 2, 2)
    y_train = np.repeat(np.arange(classes), per_class)
    rng = np.random.default_rng(0)
    return {"x_train": x_train, "y_train": y_train,
            "x_test": rng.uniform(0, total - 1, size=(50, 2, 2)), "y_test": rng.integers(0, classes, 50)}


def indices(examples: np.ndarray) -> np.ndarray:
    return np.rint(examples.reshape(len(examples), -1)[:, 0]).astype(int)


def test_split_is_seeded_stratified_and_disjoint():
    first = prepare(indexed_arrays(), "indexed", seed=0, validation_fraction=0.2)
    train, validation = indices(first.x_train), indices(first.x_validation)
    assert len(validation) == 200 and not set(train) & set(validation)
    assert sorted(np.concatenate([train, validation])) == list(range(1000))
    assert np.array_equal(first.y_validation, validation // 100)  # examples keep their labels
    assert np.bincount(first.y_validation).tolist() == [20] * 10  # sorted by class, yet every class in both parts
    same = prepare(indexed_arrays(), "indexed", seed=0, validation_fraction=0.2)
    assert np.array_equal(indices(same.x_validation), validation)
    other = prepare(indexed_arrays(), "indexed", seed=1, validation_fraction=0.2)
    assert set(indices(other.x_validation)) != set(validation)


def test_given_validation_data_is_used_as_it_is():
    arrays = indexed_arrays(classes=2, per_class=20)
    arrays.update(x_validation=arrays["x_train"][:6] + 0.5, y_validation=np.array([0, 1, 0, 1, 0, 1]))
    data = prepare(arrays, "given")
    assert len(data.y_train) == 40 and data.y_validation.tolist() == [0, 1, 0, 1, 0, 1]


def test_a_rare_class_enlarges_the_validation_part_so_it_appears_in_both_parts():
    arrays = indexed_arrays(classes=2, per_class=100)
    arrays["y_train"] = np.array([0] * 196 + [1] * 4)
    data = prepare(arrays, "rare", validation_fraction=0.05)
    assert len(data.y_validation) == 50  # 200 examples / 4 in the rarest class
    assert set(data.y_validation) == set(data.y_train) == {0, 1}


def test_training_subset_keeps_example_label_pairs_and_returns_self_when_too_big():
    data = prepare(indexed_arrays(), "indexed", validation_fraction=0.1)
    subset = data.training_subset(90, seed=0)
    assert np.bincount(subset.y_train, minlength=10).tolist() == [9] * 10
    assert np.array_equal(subset.y_train, indices(subset.x_train) // 100)
    assert data.training_subset(900, seed=0) is data and data.training_subset(None, seed=0) is data
    with pytest.raises(DataError, match="at least one example per class"):
        data.training_subset(5, seed=0)


def test_images_tabular_rows_and_sequences_of_any_shape_keep_their_shape():
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 4
    for shape in [(40, 7), (40, 12, 3), (40, 5, 6, 3), (40,)]:
        data = prepare({"x_train": rng.normal(size=shape), "y_train": labels}, "any")
        assert data.input_shape == (shape[1:] or (1,)) and data.x_train.dtype == np.float32
    rgb = prepare({"x_train": rng.integers(0, 256, (40, 6, 5, 3), dtype=np.uint8), "y_train": labels}, "rgb")
    assert rgb.input_shape == (6, 5, 3) and rgb.x_train.max() <= 1.0
    gray = prepare({"x_train": rng.integers(0, 256, (40, 6, 5), dtype=np.uint8), "y_train": labels}, "gray")
    assert gray.input_shape == (6, 5, 1)


def test_only_uint8_inputs_are_scaled_and_everything_else_is_kept_as_given():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3)) * 1000
    data = prepare({"x_train": features, "y_train": np.arange(40) % 2}, "raw", validation_fraction=0.25)
    joined = np.concatenate([data.x_train, data.x_validation])
    assert np.allclose(np.sort(joined, axis=0), np.sort(features.astype(np.float32), axis=0))


def test_integer_or_one_hot_labels_make_a_classification_and_float_targets_a_regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    one_hot = np.eye(3)[np.arange(60) % 3]
    assert prepare({"x_train": x, "y_train": np.arange(60) % 3}, "ints").task == Task.CLASSIFICATION
    classes = prepare({"x_train": x, "y_train": one_hot, "x_test": x[:6], "y_test": one_hot[:6]}, "one-hot")
    assert classes.task == Task.CLASSIFICATION and classes.num_outputs == 3
    assert classes.y_test.tolist() == [0, 1, 2, 0, 1, 2]
    regression = prepare({"x_train": x, "y_train": x.sum(axis=1)}, "sum")
    assert regression.task == Task.REGRESSION and regression.num_outputs == 1
    assert regression.y_train.dtype == np.float32 and len(regression.y_validation) == 6
    several = prepare({"x_train": x, "y_train": x[:, :2]}, "two targets")
    assert several.num_outputs == 2 and several.y_train.shape[1:] == (2,)
    whole_floats = {"x_train": x, "y_train": (np.arange(60) % 3).astype(float)}
    assert prepare(whole_floats, "floats").task == Task.REGRESSION
    asked = prepare(whole_floats, "floats", task=Task.CLASSIFICATION)
    assert asked.task == Task.CLASSIFICATION and asked.y_train.dtype == np.int32 and asked.num_outputs == 3


def test_the_classes_come_from_the_training_labels_or_are_given_never_from_the_test_labels():
    x = np.zeros((20, 2))
    data = prepare({"x_train": x, "y_train": np.arange(20) % 3, "x_test": x[:4], "y_test": [0, 1, 2, 2]}, "three")
    assert data.num_outputs == 3
    assert prepare({"x_train": x, "y_train": np.arange(20) % 3}, "given", num_classes=5).num_outputs == 5
    with pytest.raises(DataError, match=r"y_test to hold classes 0\.\.2, as the training labels say\. Received: "
                                        r"class 7"):
        prepare({"x_train": x, "y_train": np.arange(20) % 3, "x_test": x[:4], "y_test": [0, 1, 2, 7]}, "unseen")
    with pytest.raises(DataError, match="y_train's labels below num_classes=2. Received: 2"):
        prepare({"x_train": x, "y_train": np.arange(20) % 3}, "fewer", num_classes=2)


def _valid() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (40, 4, 4), dtype=np.uint8), "y_train": np.repeat(np.arange(4), 10),
            "x_test": rng.integers(0, 256, (8, 4, 4), dtype=np.uint8), "y_test": np.arange(8) % 4}


def _changed(**changes) -> dict[str, np.ndarray]:
    arrays = _valid()
    arrays.update(changes)
    return {key: value for key, value in arrays.items() if value is not None}


BAD_ARRAYS = {
    "shapes differ": (_changed(x_test=np.zeros((8, 5, 4), np.uint8)),
                      r"x_test to share x_train's example shape \(4, 4, 1\). Received: \(5, 4, 1\)"),
    "too few labels": (_changed(y_train=np.arange(39) % 4),
                       r"one label in y_train per example in x_train \(40\)\. Received: 39 labels"),
    "labels without inputs": (_changed(y_test=None), "Expected y_test beside x_test"),
    "text inputs": (_changed(x_train=np.full((40, 4, 4), "a")), "x_train to hold numbers. Received: dtype <U1"),
    "NaN inputs": (_changed(x_train=np.full((40, 4, 4), np.nan)), "x_train to hold finite values"),
    "inputs beyond float32": (_changed(x_test=np.full((8, 4, 4), 1e300)), "within float32's range"),
    "empty test set": (_changed(x_test=np.zeros((0, 4, 4), np.uint8), y_test=np.zeros(0, int)),
                       "x_test to hold at least one example"),
    "examples without values": (_changed(x_train=np.zeros((40, 0)), x_test=None, y_test=None),
                                r"x_train's examples to hold values. Received: shape \(40, 0\)"),
    "text labels": (_changed(y_test=np.array(list("abcdefgh"))), "y_test to hold numbers. Received: dtype <U1"),
    "NaN labels": (_changed(y_train=np.full(40, np.nan)), "y_train to hold finite values"),
    "rows that are not one-hot": (_changed(y_train=np.zeros((40, 3), int)),
                                  r"one-hot rows \(N, K\). Received: shape \(40, 3\) whose rows are not one-hot"),
    "negative labels": (_changed(y_train=np.repeat(np.arange(4), 10) - 1),
                        "from 0 up. Received: labels from -1 to 2"),
    "one class": (_changed(y_train=np.zeros(40, int), y_test=np.zeros(8, int)),
                  "at least 2 classes in y_train. Received: 1"),
    "a stray label": (_changed(y_train=np.array([0] * 10 + [1] * 10 + [2] * 18 + [99999] * 2)),
                      "every class from 0 to its largest label, 99999. Received: 99,996 of them never occur "
                      r"\(3, 4, 5, \.\.\.\)"),
    "a class missing": (_changed(y_train=np.repeat([0, 1, 3], [14, 13, 13]), y_test=np.array([0, 1, 3, 3] * 2)),
                        r"largest label, 3. Received: 1 of them never occur \(2\)"),
    "one-example class": (_changed(y_train=np.array([0] * 20 + [1] * 19 + [2]), y_test=np.arange(8) % 3),
                          "at least 2 training examples of every class"),
}


@pytest.mark.parametrize("arrays, message", BAD_ARRAYS.values(), ids=BAD_ARRAYS.keys())
def test_bad_arrays_are_refused_with_one_line_naming_the_problem(arrays, message):
    with pytest.raises(DataError, match=message) as caught:
        prepare(arrays, "bad")
    assert "\n" not in str(caught.value)


def test_the_valid_base_of_the_bad_arrays_prepares():
    data = prepare(_valid(), "good")
    assert data.input_shape == (4, 4, 1) and data.num_outputs == 4 and data.has_test
    assert not data.without_test().has_test and data.without_test().x_train is data.x_train


@pytest.mark.parametrize("stray", [10**9, 10**18])
def test_a_stray_huge_label_is_refused_at_once_in_memory_that_follows_the_data(stray):
    """The message names the missing classes by walking the labels' gaps; it once built set(range(largest label)),
    and a label of 10**9 grew the process to 20 GB before the kernel killed it. Run under an address-space limit
    of 2 GB in a fresh process (numpy and nas.data only), so the old message dies there instead of swapping."""
    code = textwrap.dedent(f"""
        import resource, time
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        import numpy as np
        from nas.data.task_data import prepare
        from nas.errors import DataError
        y = np.array([0, 1, 2] * 20 + [{stray}], dtype=np.int64)
        started = time.perf_counter()
        try:
            prepare({{'x_train': np.zeros((len(y), 4), np.float32), 'y_train': y}}, 'stray')
        except DataError as error:
            print(round(time.perf_counter() - started, 3), error)
    """)
    finished = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr[-2000:]
    seconds, message = finished.stdout.split(" ", 1)
    assert float(seconds) < 0.5
    assert {10**9: "999,999,997 of them never occur (3, 4, 5, ...)",
            10**18: "labels from 0 to 2,147,483,647 at most. Received: labels from 0 to 10"}[stray] in message, message
