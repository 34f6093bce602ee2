"""The benchmark's tasks: their data (the same rows for every contender), what they are scored by, and how nas is
told about them.

Every contender trains on the training rows of `load_data(...)` with the run's seed, the split `nas.search` makes
itself (10% of the training set held out for validation), and is tested once on the same test rows. The tables come
from scikit-learn's bundled data sets (no download): a fixed quarter of the rows is the test set (seed 0, stratified
for a classification), and the features are standardised on the training rows, as a user would before a network.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TABLE_TEST_FRACTION = 0.25
TABLE_SPLIT_SEED = 0


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "images" or "table"
    regression: bool
    space: str  # the nas space searched (and shared with Keras Tuner and Optuna)
    max_params: int

    @property
    def metric(self) -> str:
        """The test figure of the table: accuracy, or mean squared error for a regression."""
        return "mse" if self.regression else "accuracy"

    @property
    def maximise(self) -> bool:
        return not self.regression

    @property
    def monitor(self) -> str:
        """The validation figure every contender selects on."""
        return "val_loss" if self.regression else "val_accuracy"

    def npz(self, work: Path) -> Path:
        """The task's arrays as nas takes them from a file (x_train, y_train, x_test, y_test), written once."""
        path = work / "data" / f"{self.name}.npz"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **_read(self.name))
        return path

    def one_hot_npz(self, work: Path) -> Path:
        """The same arrays with one-hot labels, as the Keras Tuner guide's users train (categorical cross-entropy)."""
        path = work / "data" / f"{self.name}-one-hot.npz"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            arrays = _read(self.name)
            classes = int(arrays["y_train"].max()) + 1
            np.savez(path, **{key: np.eye(classes, dtype=np.float32)[values] if key.startswith("y_") else values
                              for key, values in arrays.items()})
        return path

    def nas_data_arguments(self, work: Path, one_hot: bool = False) -> list[str]:
        if one_hot:
            return ["--data", str(self.one_hot_npz(work))]
        if self.name == "fashion_mnist":
            return ["--dataset", "fashion_mnist"]
        return ["--data", str(self.npz(work))]

    def test_figure(self, model, x, y) -> float:
        """A handed-back Keras model's test figure, measured once: accuracy (labels as integers or one-hot rows), or
        the mean squared error of a regression."""
        predictions = model.predict(x, batch_size=1024, verbose=0)
        if self.regression:
            return float(np.mean((predictions.reshape(len(y), -1)[:, 0] - np.asarray(y).reshape(-1)) ** 2))
        truth = np.asarray(y).argmax(axis=1) if np.ndim(y) == 2 else np.asarray(y)
        return float(np.mean(predictions.argmax(axis=1) == truth))

    def data(self, seed: int, work: Path):
        """The TaskData `nas.search --seed seed` sees: training, validation and test rows, prepared as nas does.
        Each call notes the rows' fingerprint, which the contender's figures carry (`rows`)."""
        from nas.data.sources import load_data

        if self.name == "fashion_mnist":
            data = load_data(dataset="fashion_mnist", seed=seed)
        else:
            data = load_data(data=str(self.npz(work)), seed=seed)
        ROWS_SEEN.append(fingerprint(data))
        return data


ROWS_SEEN: list[dict[str, str]] = []  # the fingerprints of the rows this process's contender read


def fingerprint(data) -> dict[str, str]:
    """A short SHA-256 of each part's inputs and labels: equal fingerprints, the same rows in the same order."""
    import hashlib

    found = {}
    for part in ("train", "validation", "test"):
        digest = hashlib.sha256()
        for array in (getattr(data, f"x_{part}"), getattr(data, f"y_{part}")):
            digest.update(np.ascontiguousarray(array).tobytes())
        found[part] = digest.hexdigest()[:16]
    return found


TASKS = {task.name: task for task in (
    Task("fashion_mnist", "images", regression=False, space="cnn", max_params=100_000),
    Task("breast_cancer", "table", regression=False, space="mlp", max_params=100_000),
    Task("diabetes", "table", regression=True, space="mlp", max_params=100_000),
)}


def _read(name: str) -> dict[str, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name == "fashion_mnist":
        from nas.data.datasets import read_dataset

        return read_dataset(name)
    loaded = {"breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes}[name]()
    x, y = loaded.data.astype(np.float32), loaded.target
    classification = name != "diabetes"
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TABLE_TEST_FRACTION,
                                                        random_state=TABLE_SPLIT_SEED,
                                                        stratify=y if classification else None)
    scaler = StandardScaler().fit(x_train)
    y_type = np.int64 if classification else np.float32
    return {"x_train": scaler.transform(x_train).astype(np.float32), "y_train": y_train.astype(y_type),
            "x_test": scaler.transform(x_test).astype(np.float32), "y_test": y_test.astype(y_type)}
