"""Where a search's data comes from: a data set nas knows, a .npz, arrays, a tf.data.Dataset, or a function that
makes the data. A `DataSource` loads the raw arrays; nas/data/task_data.py checks and splits them.

Arrays travel to Ray's workers once, through the object store. A function (`data=load` or `--data module:load`)
is called in each worker process instead (`WorkerData`), so large data never travels: only the function does. It
may return anything `data` accepts, a tf.data.Dataset included. It is called once on the driver too, to learn the
data's shape and check it, and the split is seeded, so every process makes the same parts.

A tf.data.Dataset of (x, y) elements or batches is read into arrays where it is given: it must be finite.
"""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nas.data.datasets import DATASETS, read_dataset
from nas.data.files import read_npz
from nas.data.importing import import_reference, is_placeholder, reference_of
from nas.data.task_data import Task, TaskData, prepare
from nas.errors import DataError, RunError

DEFAULT_DATASET = "mnist"
VALIDATION_FRACTION = 0.1  # of the training set when no validation data is given; 6,000 images of MNIST
_PAIR = "an (x, y) pair of arrays"


@dataclass(frozen=True)
class DataSource:
    """How to get the raw arrays: `load()` returns x_train, y_train and any of the optional parts."""

    name: str  # what the leaderboard calls the data (the run's dataset)
    load: Callable[[], dict[str, Any]]
    reference: str | None = None  # how a later command finds it again: a data set's name, a path, module:function
    in_workers: bool = False  # a function: called in each worker process, not shipped
    token: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)


def data_source(data: Any = None, dataset: str | None = None, validation_data: Any = None,
                test_data: Any = None) -> DataSource:
    """The source of a search's data, from the `data`, `dataset`, `validation_data` and `test_data` settings."""
    if data is not None and dataset is not None:
        raise DataError("Expected data or dataset, not both. Received both")
    extra = {**_part("validation", validation_data), **_part("test", test_data)}
    if data is None:
        name = dataset or DEFAULT_DATASET
        if name not in DATASETS:
            raise DataError(f"Unknown dataset {name!r}. Expected one of: {', '.join(DATASETS)}, or your own data")
        return DataSource(name, _Read(read_dataset, name, extra), reference=None)
    if isinstance(data, (str, Path)):
        text = str(data)
        if ":" in text and not Path(text).expanduser().exists():
            function = import_reference(text, "data", DataError)
            return _function_source(function, text, extra)
        path = Path(text).expanduser().resolve()
        if path.suffix != ".npz" and not path.exists():
            raise DataError(f"Expected data as a .npz file or package.module:function. Received: {text!r}")
        return DataSource(path.stem, _Read(read_npz, path, extra), reference=str(path))
    if callable(data) and not _is_tf_dataset(data):
        return _function_source(data, reference_of(data), extra)
    arrays = {**arrays_from(data, "data"), **extra}
    return DataSource("tf.data" if _is_tf_dataset(data) else "arrays", _Read(dict, arrays, {}))


def _function_source(function: Callable, reference: str | None, extra: dict) -> DataSource:
    name = getattr(function, "__name__", None) or type(function).__name__
    return DataSource(name, _Call(function, name, extra), reference=reference, in_workers=True)


@dataclass(frozen=True)
class _Read:
    """Loads arrays with `read(what)`, adding the validation and test parts given beside them."""

    read: Callable[[Any], dict]
    what: Any
    extra: dict

    def __call__(self) -> dict[str, Any]:
        return {**self.read(self.what), **self.extra}


@dataclass(frozen=True)
class _Call:
    """Calls the user's data function; what travels to a worker is this, the function and nothing it returns."""

    function: Callable
    name: str
    extra: dict

    def __call__(self) -> dict[str, Any]:
        try:
            made = self.function()
        except Exception as error:
            raise DataError(f"The data function {self.name} raised {type(error).__name__}: {error}") from error
        return {**arrays_from(made, f"what the data function {self.name} returned"), **self.extra}


def arrays_from(value: Any, what: str) -> dict[str, Any]:
    """x_train, y_train and the optional parts from (x, y), a dict of those keys, a tf.data.Dataset or a .npz path."""
    if isinstance(value, (str, Path)):
        return read_npz(Path(value).expanduser())
    if isinstance(value, dict):
        if "x_train" not in value or "y_train" not in value:
            raise DataError(f"Expected {what} to hold x_train and y_train. Received keys: {sorted(value)}")
        return dict(value)
    if _is_tf_dataset(value):
        x, y = _dataset_arrays(value, what)
        return {"x_train": x, "y_train": y}
    x, y = _pair(value, what)
    return {"x_train": x, "y_train": y}


def _part(part: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    x, y = _dataset_arrays(value, f"{part}_data") if _is_tf_dataset(value) else _pair(value, f"{part}_data")
    return {f"x_{part}": x, f"y_{part}": y}


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return value[0], value[1]
    raise DataError(f"Expected {what} as {_PAIR}, a dict of x_train, y_train, ..., a tf.data.Dataset, a .npz path or "
                    f"a function returning one of these. Received: {type(value).__name__}")


def _is_tf_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")


def _dataset_arrays(dataset, what: str) -> tuple[np.ndarray, np.ndarray]:
    """All of a finite tf.data.Dataset's (x, y) elements or batches, as two arrays."""
    import tensorflow as tf

    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise DataError(f"Expected {what} to be a finite tf.data.Dataset. Received an infinite one (repeat()); "
                        "take() what a search should see")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise DataError(f"Expected {what} to yield (x, y) pairs. Received elements of {spec}")
    batched = spec[0].shape.rank is not None and spec[0].shape.rank > 0 and spec[0].shape[0] is None
    xs, ys = [], []
    for x, y in dataset.as_numpy_iterator():
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"Expected {what} to hold at least one example. Received an empty tf.data.Dataset")
    join = np.concatenate if batched else np.stack
    return join(xs), join(ys)


def stored_data_source(reference: str | None, dataset: str | None, again: str, validation_data: Any = None,
                       test_data: Any = None) -> DataSource:
    """The data a stored run searched, from its data reference or dataset; data it was given as Python objects is
    not stored, so it must be given `again` (how the caller passes it)."""
    if is_placeholder(reference):
        raise RunError(f"The run was given its data as Python objects ({reference.partition(':')[2]}), which are not "
                       f"stored. Expected the same data passed again: {again}")
    return data_source(reference, dataset, validation_data, test_data)


def load_data(data: Any = None, dataset: str | None = None, *, validation_data: Any = None, test_data: Any = None,
              task: Task = Task.AUTO, num_classes: int | None = None, seed: int = 0,
              validation_fraction: float = VALIDATION_FRACTION) -> TaskData:
    """The data a search with these settings would see, checked and split the same way (`nas.search` does this
    before its first trial)."""
    source = data_source(data, dataset, validation_data, test_data)
    return prepare(source.load(), source.name, Task(task), num_classes, seed, validation_fraction)


@dataclass(frozen=True)
class WorkerData:
    """Data that a worker makes itself, from a function, instead of receiving it; `get()` is TaskData's."""

    source: DataSource
    task: Task
    num_classes: int | None
    seed: int
    validation_fraction: float
    train_subset: int | None = None
    with_test: bool = False

    def get(self) -> TaskData:
        data = _made_here.get(self.source.token)
        if data is None:  # once per process: a reused worker keeps it for the next trial
            _made_here.clear()
            data = prepare(self.source.load(), self.source.name, self.task, self.num_classes, self.seed,
                           self.validation_fraction)
            _made_here[self.source.token] = data
        data = data.training_subset(self.train_subset, self.seed)
        return data if self.with_test else data.without_test()


_made_here: dict[str, TaskData] = {}
