"""nas.data.sources: the forms a search's data takes (arrays, a .npz, a tf.data.Dataset, a function, a known data
set), and a data function that each worker calls itself."""
from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from nas.data import sources
from nas.data.sources import WorkerData, data_source, load_data
from nas.data.task_data import Task
from nas.errors import DataError


def arrays(count: int = 60):
    rng = np.random.default_rng(0)
    return rng.normal(size=(count, 5)).astype("float32"), np.arange(count) % 3


def test_arrays_validation_and_test_data_as_pairs():
    x, y = arrays()
    data = load_data((x, y), validation_data=(x[:9], y[:9]), test_data=(x[:6], y[:6]))
    assert data.name == "arrays" and len(data.y_train) == 60 and len(data.y_validation) == 9
    assert data.y_test.tolist() == [0, 1, 2, 0, 1, 2]
    assert load_data({"x_train": x, "y_train": y}).input_shape == (5,)
    source = data_source((x, y))
    assert source.reference is None and not source.in_workers


def test_a_npz_file_is_named_by_its_stem_and_may_hold_any_of_the_optional_parts(tmp_path):
    x, y = arrays()
    np.savez(tmp_path / "mine.npz", x_train=x, y_train=y)
    data = load_data(str(tmp_path / "mine.npz"))
    assert data.name == "mine" and not data.has_test and len(data.y_validation) == 6
    assert data_source(tmp_path / "mine.npz").reference == str((tmp_path / "mine.npz").resolve())
    np.savez(tmp_path / "parts.npz", x_train=x, y_train=y, x_validation=x[:3], y_validation=y[:3])
    assert len(load_data(str(tmp_path / "parts.npz")).y_validation) == 3


def test_bad_npz_files_are_refused_with_one_line(tmp_path):
    x, y = arrays()
    with pytest.raises(DataError, match="does not exist"):
        load_data(str(tmp_path / "absent.npz"))
    with pytest.raises(DataError, match="a directory"):
        load_data(str(tmp_path) + "/")
    np.savez(tmp_path / "half.npz", x_train=x, y_train=y, x_test=x)
    with pytest.raises(DataError, match="both x_test and y_test, or neither. Received: only x_test"):
        load_data(str(tmp_path / "half.npz"))
    np.savez(tmp_path / "lacking.npz", x_train=x)
    with pytest.raises(DataError, match="lacks y_train"):
        load_data(str(tmp_path / "lacking.npz"))
    (tmp_path / "garbage.npz").write_bytes(b"these bytes are not a zip archive")
    with pytest.raises(DataError, match=r"garbage.npz', which is not a .npz file \(a .npz is a zip archive; this "
                                        r"file starts with b'these by'\)\.$"):
        load_data(str(tmp_path / "garbage.npz"))  # said plainly, not numpy's "pickled data ... load it unsafely"
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 and then no zip archive at all")
    with pytest.raises(DataError, match="broken.npz', which is not a .npz file numpy can read"):
        load_data(str(tmp_path / "broken.npz"))
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as archive:  # an object array: loading it would unpickle
        with archive.open("x_train.npy", "w") as file:
            np.save(file, np.array([{}, []], dtype=object), allow_pickle=True)
        with archive.open("y_train.npy", "w") as file:
            np.save(file, np.zeros(2))
    with pytest.raises(DataError, match="whose arrays numpy cannot read"):
        load_data(str(tmp_path / "pickled.npz"))
    with pytest.raises(DataError, match="Expected data as a .npz file or package.module:function"):
        load_data(str(tmp_path / "table.csv"))


def test_a_tf_data_dataset_of_elements_or_batches_is_read_into_arrays():
    import tensorflow as tf

    x, y = arrays()
    for dataset in (tf.data.Dataset.from_tensor_slices((x, y)), tf.data.Dataset.from_tensor_slices((x, y)).batch(7)):
        data = load_data(dataset, validation_data=tf.data.Dataset.from_tensor_slices((x[:5], y[:5])))
        assert data.name == "tf.data" and len(data.y_train) == 60 and len(data.y_validation) == 5
        assert np.allclose(np.sort(data.x_train[:, 0]), np.sort(x[:, 0]))
    with pytest.raises(DataError, match="finite tf.data.Dataset. Received an infinite one"):
        load_data(tf.data.Dataset.from_tensor_slices((x, y)).repeat())
    with pytest.raises(DataError, match=r"to yield \(x, y\) pairs"):
        load_data(tf.data.Dataset.from_tensor_slices(x))


def make_data():
    x, y = arrays(90)
    return {"x_train": x, "y_train": y, "x_test": x[:9], "y_test": y[:9]}


def test_a_data_function_is_called_where_the_data_is_needed_and_travels_as_itself():
    source = data_source(make_data)
    assert source.in_workers and source.reference == "tests.nas.data.test_sources:make_data"
    payload = WorkerData(source, Task.CLASSIFICATION, None, seed=0, validation_fraction=0.1, train_subset=30)
    travelled = pickle.loads(pickle.dumps(payload))  # what reaches a worker: the function, not its arrays
    assert len(pickle.dumps(payload)) < 2000
    sources._made_here.clear()
    trial_data = travelled.get()
    assert len(trial_data.y_train) == 30 and not trial_data.has_test
    final = WorkerData(source, Task.CLASSIFICATION, None, 0, 0.1, with_test=True).get()
    assert final.has_test and len(final.y_train) + len(final.y_validation) == 90
    # The split is seeded: a worker makes the same parts as the driver.
    assert np.array_equal(final.x_validation, load_data(make_data).x_validation)
    assert data_source("tests.nas.data.test_sources:make_data").reference == source.reference


def test_a_data_function_that_fails_or_returns_something_else_says_so():
    def broken():
        raise OSError("disk on fire")

    with pytest.raises(DataError, match="The data function broken raised OSError: disk on fire"):
        load_data(broken)
    with pytest.raises(DataError, match="Expected what the data function <lambda> returned as an"):
        load_data(lambda: 42)
    with pytest.raises(DataError, match="no attribute 'absent'"):
        data_source("tests.nas.data.test_sources:absent")


def test_data_and_dataset_together_are_refused():
    with pytest.raises(DataError, match="Expected data or dataset, not both"):
        data_source(arrays(), "mnist")


def test_a_run_given_arrays_in_python_asks_for_them_again_and_one_given_a_file_or_a_name_finds_its_data(tmp_path):
    from nas.errors import RunError
    from nas.data.sources import stored_data_source

    with pytest.raises(RunError, match=r"given its data as Python objects \(arrays\).*passed again: here"):
        stored_data_source("<python object>:arrays", None, "here")
    x, y = arrays()
    np.savez(tmp_path / "kept.npz", x_train=x, y_train=y)
    assert stored_data_source(str(tmp_path / "kept.npz"), None, "here").name == "kept"
    assert stored_data_source(None, "digits", "here").name == "digits"
