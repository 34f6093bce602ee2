"""A search's data: from whatever the user has (arrays, a .npz, a tf.data.Dataset, a function, a known data set)
to `TaskData`, checked, with its task settled and its training, validation and (optional) test parts.

What nas does to the data, and nothing else:
- inputs become float32; uint8 inputs are read as pixels and divided by 255, and uint8 images shaped (N, H, W) get
  a channel axis (N, H, W, 1). Any other scaling is the user's (the model nas returns sees inputs as given).
- labels: integer labels (N,) or (N, 1), or one-hot rows (N, K), make a classification with classes 0..K-1, K
  from the training labels (the largest + 1; a one-hot row's width) unless `num_classes` says it; float targets
  (N,) or (N, k) make a regression. `task` overrides the guess (float labels holding whole numbers become classes
  when asked). nas keeps class indices for its own bookkeeping (accuracy, the stratified split, the leaderboard);
  what a model trains and is tested on are the labels as the user gave them (`TaskData.as_given`): one-hot rows stay
  one-hot, in their dtype, so a model compiled with its own categorical loss sees what it was written for.
- without validation data, a seeded 10% of the training part becomes the validation part: stratified by class for
  a classification (scikit-learn's train_test_split; enlarged where a rare class needs it to appear in both parts),
  at random for a regression. The test part is optional and is touched only by the final training.
"""
from __future__ import annotations

import dataclasses
import enum
import logging
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from nas.errors import DataError

logger = logging.getLogger(__name__)

class Task(str, enum.Enum):
    AUTO = "auto"  # classification for integer or one-hot labels, regression for float targets
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class LabelForm:
    """How the user gave a classification's labels, to give them back so (`TaskData.as_given`)."""

    one_hot: bool = False  # rows (N, K); otherwise class indices
    column: bool = False  # indices shaped (N, 1)
    dtype: str = "int32"


@dataclass(frozen=True, eq=False, repr=False)
class TaskData:
    """Checked data: inputs float32 shaped (N, ...); labels int32 (N,) or targets float32 (N,) / (N, k)."""

    name: str
    task: Task
    num_outputs: int  # the classes of a classification, the targets of a regression
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    label_form: LabelForm = LabelForm()

    def as_given(self, labels: np.ndarray | None) -> np.ndarray | None:
        """Labels of this data (class indices, or a regression's targets) in the form the user gave them: what
        every model nas trains or tests is fed."""
        form = self.label_form
        if labels is None or self.task != Task.CLASSIFICATION:
            return labels
        if form.one_hot:
            return np.eye(self.num_outputs, dtype=form.dtype)[labels]
        given = labels.astype(form.dtype, copy=False)
        return given[:, np.newaxis] if form.column else given

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(size) for size in self.x_train.shape[1:])

    @property
    def has_test(self) -> bool:
        return self.x_test is not None and len(self.x_test) > 0

    def get(self) -> TaskData:
        """The data itself (a `WorkerData` makes it in the worker instead)."""
        return self

    def without_test(self) -> TaskData:
        """What search trials may see: never the test part."""
        return dataclasses.replace(self, x_test=None, y_test=None)

    def training_and_validation(self) -> tuple[np.ndarray, np.ndarray]:
        """Both parts together, for the final training."""
        return np.concatenate([self.x_train, self.x_validation]), np.concatenate([self.y_train, self.y_validation])

    def training_subset(self, size: int | None, seed: int) -> TaskData:
        """The same data with its training part cut to a random `size` examples (stratified for a classification);
        self when `size` is None or not smaller."""
        total = len(self.y_train)
        if size is None or size >= total:
            return self
        index = _subset_index(self.y_train if self.task == Task.CLASSIFICATION else None, total, size, seed)
        return dataclasses.replace(self, x_train=self.x_train[index], y_train=self.y_train[index])

    def __repr__(self) -> str:
        test = len(self.y_test) if self.has_test else 0
        return (f"TaskData(name={self.name!r}, task={self.task.value}, train={len(self.y_train)}, "
                f"validation={len(self.y_validation)}, test={test}, input_shape={self.input_shape}, "
                f"num_outputs={self.num_outputs})")


def prepare(arrays: dict[str, Any], name: str, task: Task = Task.AUTO, num_classes: int | None = None,
            seed: int = 0, validation_fraction: float = 0.1) -> TaskData:
    """Check the arrays (x_train, y_train; x_validation, y_validation, x_test, y_test optional) and make TaskData."""
    present = [part for part in PARTS if f"x_{part}" in arrays and arrays[f"x_{part}"] is not None]
    inputs = {part: _inputs(f"x_{part}", arrays[f"x_{part}"]) for part in present}
    labels = {part: _labels_array(f"y_{part}", arrays.get(f"y_{part}"), len(inputs[part])) for part in present}
    shape = inputs["train"].shape[1:]
    for part in present:
        if inputs[part].shape[1:] != shape:
            raise DataError(f"Expected x_{part} to share x_train's example shape {shape}. "
                            f"Received: {inputs[part].shape[1:]}.")
    task = _settle_task(task, labels["train"])
    label_form = LabelForm()
    if task == Task.CLASSIFICATION:
        label_form, num_classes = _label_form(arrays["y_train"], labels["train"], num_classes)
        labels = {part: _class_labels(f"y_{part}", values) for part, values in labels.items()}
        num_outputs = _count_classes(labels, num_classes)
    else:
        labels = {part: _targets(f"y_{part}", values) for part, values in labels.items()}
        num_outputs = 1 if labels["train"].ndim == 1 else int(labels["train"].shape[1])
        for part, values in labels.items():
            if (1 if values.ndim == 1 else values.shape[1]) != num_outputs:
                raise DataError(f"Expected y_{part} to hold {num_outputs} target(s) per example, as y_train does. "
                                f"Received: shape {values.shape}.")
    if "validation" not in present:
        train_index, validation_index = _validation_split(labels["train"], task == Task.CLASSIFICATION,
                                                          validation_fraction, seed)
        inputs["validation"], labels["validation"] = inputs["train"][validation_index], labels["train"][validation_index]
        inputs["train"], labels["train"] = inputs["train"][train_index], labels["train"][train_index]
    data = TaskData(name, task, num_outputs, inputs["train"], labels["train"], inputs["validation"],
                    labels["validation"], inputs.get("test"), labels.get("test"), label_form)
    logger.info("Prepared %r", data)
    return data


def _inputs(key: str, values: Any) -> np.ndarray:
    """float32 inputs shaped (N, ...): uint8 is read as pixels in [0, 1], grayscale images get a channel axis."""
    array = np.asarray(values)
    if array.dtype.kind not in "uifb":
        raise DataError(f"Expected {key} to hold numbers. Received: dtype {array.dtype} (encode text and categories "
                        "as numbers first).")
    if array.ndim == 0 or len(array) == 0:
        raise DataError(f"Expected {key} to hold at least one example. Received: shape {array.shape}.")
    if array.ndim == 1:
        array = array[:, np.newaxis]  # one feature per example
    if min(array.shape[1:]) == 0:
        raise DataError(f"Expected {key}'s examples to hold values. Received: shape {array.shape}.")
    if array.dtype == np.uint8:
        scaled = array.astype(np.float32) / np.float32(255)
        return scaled[..., np.newaxis] if scaled.ndim == 3 else scaled
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise DataError(f"Expected {key} to hold finite values. Received: NaN or infinity.")
        if np.abs(array).max() > np.finfo(np.float32).max:
            raise DataError(f"Expected {key} to hold values within float32's range (about 3.4e38). Received: "
                            f"{np.abs(array).max():.3g}.")
    return array.astype(np.float32)


def _labels_array(key: str, values: Any, count: int) -> np.ndarray:
    if values is None:
        raise DataError(f"Expected {key} beside x_{key[2:]}. Received: no labels.")
    array = np.asarray(values)
    if array.dtype.kind not in "uifb":
        raise DataError(f"Expected {key} to hold numbers. Received: dtype {array.dtype} (encode class names as "
                        "integers, e.g. with scikit-learn's LabelEncoder).")
    if array.ndim == 0 or len(array) != count:
        raise DataError(f"Expected one label in {key} per example in x_{key[2:]} ({count}). "
                        f"Received: {array.size if array.ndim == 0 else len(array)} labels.")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim > 2:
        raise DataError(f"Expected {key} shaped (N,), (N, 1) or (N, K). Received: shape {array.shape}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DataError(f"Expected {key} to hold finite values. Received: NaN or infinity.")
    return array


def _label_form(given: Any, labels: np.ndarray, num_classes: int | None) -> tuple[LabelForm, int | None]:
    """The form of the training labels as given, and the classes a one-hot width says (it must agree with
    num_classes)."""
    form = LabelForm(one_hot=labels.ndim == 2, column=np.ndim(given) == 2 and labels.ndim == 1,
                     dtype=np.asarray(given).dtype.name)
    if form.one_hot:
        width = int(labels.shape[1])
        if num_classes is not None and num_classes != width:
            raise DataError(f"Expected num_classes to match the width of y_train's one-hot rows ({width}). "
                            f"Received: num_classes={num_classes}.")
        num_classes = width
    return form, num_classes


def _is_one_hot(labels: np.ndarray) -> bool:
    return labels.ndim == 2 and labels.shape[1] >= 2 and bool(np.isin(labels, (0, 1)).all()) \
        and bool((labels.sum(axis=1) == 1).all())


def _settle_task(task: Task, labels: np.ndarray) -> Task:
    if task != Task.AUTO:
        return task
    if labels.dtype.kind in "uib" or _is_one_hot(labels):
        return Task.CLASSIFICATION
    return Task.REGRESSION


def _class_labels(key: str, labels: np.ndarray) -> np.ndarray:
    """int32 class indices (N,) from integer labels or one-hot rows."""
    if labels.ndim == 2:
        if not _is_one_hot(labels):
            raise DataError(f"Expected {key} to hold class labels (N,) or one-hot rows (N, K). Received: shape "
                            f"{labels.shape} whose rows are not one-hot.")
        return labels.argmax(axis=1).astype(np.int32)
    if labels.dtype.kind == "f":
        whole = labels == np.round(labels)
        if not whole.all():
            raise DataError(f"Expected {key} to hold integer class labels. Received: values such as "
                            f"{labels[~whole][0].item()!r} (for a regression, leave task as auto or regression).")
    if labels.min() < 0 or labels.max() > np.iinfo(np.int32).max:
        upper = "up" if labels.min() < 0 else f"to {np.iinfo(np.int32).max:,} at most"
        raise DataError(f"Expected {key} to hold class labels from 0 {upper}. Received: labels from {labels.min()} "
                        f"to {labels.max()}.")
    return labels.astype(np.int32)


def _first_missing(classes: np.ndarray, how_many: int) -> list[int]:
    """The first `how_many` integers from 0 up that `classes` (sorted, unique, non-negative) lacks, found by walking
    its gaps: memory and time follow the number of classes, never the size of the largest label (a stray label of
    10**18 must not make a list of 10**18 numbers)."""
    missing: list[int] = []
    expected = 0
    for label in classes.tolist():
        while expected < label and len(missing) < how_many:
            missing.append(expected)
            expected += 1
        if len(missing) == how_many:
            break
        expected = label + 1
    return missing


def _count_classes(labels: dict[str, np.ndarray], num_classes: int | None) -> int:
    """The classes come from the training labels (or num_classes), never from the validation or test labels."""
    training = labels["train"]
    classes = np.unique(training)
    if len(classes) < 2:
        raise DataError(f"Expected at least 2 classes in y_train. Received: {len(classes)} (labels "
                        f"{classes.tolist()}).")
    count = int(training.max()) + 1
    if num_classes is None and len(classes) < count:  # e.g. one stray label 99999 would make a 100,000-way softmax
        missing = count - len(classes)
        raise DataError(f"Expected y_train to hold every class from 0 to its largest label, {count - 1}. Received: "
                        f"{missing:,} of them never occur ({', '.join(map(str, _first_missing(classes, 3)))}"
                        f"{', ...' if missing > 3 else ''}). Give num_classes (--num-classes) to train for "
                        f"classes the training data lacks, or fix the labels.")
    if num_classes is not None:
        if count > num_classes:
            raise DataError(f"Expected y_train's labels below num_classes={num_classes}. Received: {count - 1}.")
        count = num_classes
    for part, values in labels.items():
        if part != "train" and len(values) and values.max() >= count:
            raise DataError(f"Expected y_{part} to hold classes 0..{count - 1}, as the training labels "
                            f"{'and num_classes ' if num_classes else ''}say. Received: class {int(values.max())}.")
    return count


def _targets(key: str, targets: np.ndarray) -> np.ndarray:
    if targets.dtype.kind == "b":
        raise DataError(f"Expected {key} to hold numeric regression targets. Received: booleans.")
    return targets.astype(np.float32)


def _validation_split(labels: np.ndarray, stratify: bool, fraction: float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation parts: random and seeded (stratified by class when asked), never a
    tail slice."""
    total = len(labels)
    requested = math.ceil(fraction * total)  # rounded up, as scikit-learn rounds a test fraction
    if not stratify:
        if total < 2:
            raise DataError(f"Expected at least 2 training examples, to carve a validation part out of them. "
                            f"Received: {total}.")
        order = np.random.default_rng(seed).permutation(total)
        count = min(max(requested, 1), total - 1)
        return order[count:], order[:count]
    classes, class_counts = np.unique(labels, return_counts=True)
    if class_counts.min() < 2:
        raise DataError(f"Expected at least 2 training examples of every class, to put each class in both the "
                        f"training and validation parts. Received: 1 of class {classes[class_counts < 2][0]}.")
    # Proportional allocation gives every class a validation example once the part holds total / (smallest class)
    # examples; capping it at half leaves at least as much for training.
    lowest = max(len(classes), math.ceil(total / class_counts.min()))
    count = min(max(requested, lowest), total // 2)
    if count != requested:
        logger.warning("A validation part of %d examples does not fit %d training examples in %d classes; using %d.",
                       requested, total, len(classes), count)
    from sklearn.model_selection import train_test_split

    # scikit-learn's train_test_split shuffles with the seed and keeps each class's share in both parts.
    train_index, validation_index = train_test_split(np.arange(total), test_size=count, stratify=labels,
                                                     random_state=seed)
    if min(len(np.unique(labels[index])) for index in (train_index, validation_index)) < len(classes):
        raise DataError(f"Expected every class in both the training and validation parts. Received: classes too "
                        f"small to split ({count} of {total} examples for validation).")
    return train_index, validation_index


def _subset_index(labels: np.ndarray | None, total: int, size: int, seed: int) -> np.ndarray:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise DataError(f"Expected a training subset size >= 1. Received: {size!r}.")
    if labels is not None:
        _, class_counts = np.unique(labels, return_counts=True)
        if size < len(class_counts):
            raise DataError(f"Expected a training subset of at least one example per class "
                            f"(>= {len(class_counts)}). Received: {size}.")
        if class_counts.min() >= 2 and total - size >= len(class_counts):
            from sklearn.model_selection import train_test_split

            # scikit-learn's train_test_split keeps the class proportions of the full training part.
            index, _ = train_test_split(np.arange(total), train_size=int(size), stratify=labels, random_state=seed)
            return index
    # Unstratified: a regression, or classes scikit-learn cannot stratify (one example, or none left out).
    return np.random.default_rng(seed).choice(total, size=int(size), replace=False)

