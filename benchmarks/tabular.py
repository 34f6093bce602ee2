"""Tabular NAS benchmarks (after NAS-Bench-101/201): every architecture of a reduced space trained once with one
fixed recipe, so strategies can be compared on real accuracies in milliseconds.

Two tables of different structure:
- `mnist-mlp` (1,009 architectures): 0 to 3 dense layers of 32-256 units, relu/tanh/elu, dropout 0 or 0.2, with
  or without batch norm; 4 epochs on 5,000 MNIST images. Most of its choices act alone: depth and width decide.
- `fashion-cnn` (672 architectures): 1 or 2 conv blocks of 8/16/32 filters of 3x3 or 5x5, max or average
  pooling, batch norm or not, relu or swish, a flatten or a global-average-pooling head; 2 epochs on 2,000
  Fashion-MNIST images. Its choices interact: a global-average-pooling head trains poorly in 2 epochs, and
  batch norm matters much more to it (mean validation accuracy 35.7% without, 49.1% with) than to a flatten head
  (75.4%, 79.5%); the best reaches 82.85%.

`build_tabular.py --benchmark NAME` trains one and writes its CSV under `data/`; `TabularBenchmark(NAME)` answers
a trial from it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from search_spaces import Architecture, Choice, SearchSpace
from search_spaces.cnn import build_cnn
from search_spaces.mlp import build_mlp

DATA = Path(__file__).resolve().parent / "data"
FIELDS = ("arch", "validation_accuracy", "test_accuracy", "params", "flops", "latency_ms", "train_seconds")


def _active_from(parameter: str, first: int, last: int) -> dict[str, list[int]]:
    return {parameter: list(range(first, last + 1))}


MLP_DEPTH = 3
MNIST_MLP_SPACE = SearchSpace(
    "mlp",  # a subspace of mlp: its architectures build with the mlp builder and keep mlp's keys
    [
        Choice("depth", list(range(MLP_DEPTH + 1))),
        *[Choice(f"units_{layer}", [32, 64, 128, 256], when=_active_from("depth", layer, MLP_DEPTH))
          for layer in range(1, MLP_DEPTH + 1)],
        Choice("activation", ["relu", "tanh", "elu"], when=_active_from("depth", 1, MLP_DEPTH)),
        Choice("dropout", [0.0, 0.2], when=_active_from("depth", 1, MLP_DEPTH)),
        Choice("batch_norm", [False, True], when=_active_from("depth", 1, MLP_DEPTH)),
    ],
    builder=build_mlp,
)

CNN_BLOCKS = 2
# What the reduced cnn space holds fixed: one convolution a block, no hidden dense layer, no dropout.
CNN_FIXED = {**{f"convs_{block}": 1 for block in range(1, CNN_BLOCKS + 1)}, "dense_units": 0, "dropout": 0.0}


def build_reduced_cnn(arch: Architecture, input_shape: tuple, num_outputs: int, task: str = "classification"):
    """The cnn space's builder, with what the reduced space does not search held at CNN_FIXED."""
    return build_cnn(Architecture("cnn", {**CNN_FIXED, **arch}), input_shape, num_outputs, task)


FASHION_CNN_SPACE = SearchSpace(
    "cnn",  # a subspace of cnn: its keys are cnn's, less what CNN_FIXED holds
    [
        Choice("blocks", list(range(1, CNN_BLOCKS + 1))),
        *[choice for block in range(1, CNN_BLOCKS + 1) for choice in (
            Choice(f"filters_{block}", [8, 16, 32], when=_active_from("blocks", block, CNN_BLOCKS)),
            Choice(f"kernel_{block}", [3, 5], when=_active_from("blocks", block, CNN_BLOCKS)),
        )],
        Choice("pooling", ["max", "avg"]),
        Choice("batch_norm", [False, True]),
        Choice("activation", ["relu", "swish"]),
        Choice("head", ["flatten", "gap"]),
    ],
    builder=build_reduced_cnn,
)


@dataclass(frozen=True)
class TableSpec:
    """What a table was built from: its space, data and the one recipe every architecture trained with."""

    name: str
    space: SearchSpace
    dataset: str
    # train_images and validation_images from the data set's training set (stratified, seed 0); its full test set.
    recipe: dict = field(default_factory=dict)

    @property
    def table(self) -> Path:
        return DATA / f"{self.name.replace('-', '_')}_tabular.csv"


BENCHMARKS = {spec.name: spec for spec in (
    TableSpec("mnist-mlp", MNIST_MLP_SPACE, "mnist",
              {"train_images": 5000, "validation_images": 5000, "epochs": 4, "optimizer": "adam",
               "learning_rate": 1e-3, "batch_size": 128, "seed": 0}),
    TableSpec("fashion-cnn", FASHION_CNN_SPACE, "fashion_mnist",
              {"train_images": 2000, "validation_images": 2000, "epochs": 2, "optimizer": "adam",
               "learning_rate": 3e-3, "batch_size": 32, "seed": 0}),
)}


@dataclass(frozen=True)
class TabularResult:
    validation_accuracy: float
    test_accuracy: float
    params: int
    flops: int
    latency_ms: float
    train_seconds: float


class TabularBenchmark:
    """A trained table: `evaluate(arch)` is the trial's result, instantly."""

    def __init__(self, name: str = "mnist-mlp", path: Path | None = None):
        self.spec = BENCHMARKS[name]
        self.name, self.space = name, self.spec.space
        with open(path or self.spec.table, newline="") as file:
            rows = list(csv.DictReader(file))
        self.results = {row["arch"]: TabularResult(float(row["validation_accuracy"]), float(row["test_accuracy"]),
                                                   int(row["params"]), int(row["flops"]), float(row["latency_ms"]),
                                                   float(row["train_seconds"])) for row in rows}
        self.best_validation_accuracy = max(result.validation_accuracy for result in self.results.values())
        self.best_test_accuracy = max(result.test_accuracy for result in self.results.values())

    def evaluate(self, arch: Architecture) -> TabularResult:
        return self.results[self.space.validate(arch).key]

    def __len__(self) -> int:
        return len(self.results)
