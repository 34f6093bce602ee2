"""A tabular NAS benchmark on MNIST (after NAS-Bench-101/201): every architecture of a reduced mlp space trained
once with one fixed recipe, so strategies can be compared on real accuracies in milliseconds.

`TABULAR_SPACE` has 1,009 architectures: 0 to 3 dense layers of 32-256 units, relu/tanh/elu, dropout 0 or 0.2,
with or without batch norm. `build_tabular.py` trains them all and writes `data/mnist_mlp_tabular.csv`;
`TabularBenchmark` answers a trial from that table.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from search_spaces import Architecture, Choice, SearchSpace
from search_spaces.mlp import build_mlp

TABLE = Path(__file__).resolve().parent / "data" / "mnist_mlp_tabular.csv"
MAX_DEPTH = 3


def _hidden(from_layer: int) -> dict[str, list[int]]:
    return {"depth": list(range(from_layer, MAX_DEPTH + 1))}


TABULAR_SPACE = SearchSpace(
    "mlp",  # a subspace of mlp: its architectures build with the mlp builder and keep mlp's keys
    [
        Choice("depth", list(range(MAX_DEPTH + 1))),
        *[Choice(f"units_{layer}", [32, 64, 128, 256], when=_hidden(layer)) for layer in range(1, MAX_DEPTH + 1)],
        Choice("activation", ["relu", "tanh", "elu"], when=_hidden(1)),
        Choice("dropout", [0.0, 0.2], when=_hidden(1)),
        Choice("batch_norm", [False, True], when=_hidden(1)),
    ],
    builder=build_mlp,
)

# The one recipe every architecture of the table was trained with.
RECIPE = {"train_images": 5000, "validation_images": 5000, "epochs": 4, "optimizer": "adam", "learning_rate": 1e-3,
          "batch_size": 128, "seed": 0}
FIELDS = ("arch", "validation_accuracy", "test_accuracy", "params", "flops", "latency_ms", "train_seconds")


@dataclass(frozen=True)
class TabularResult:
    validation_accuracy: float
    test_accuracy: float
    params: int
    flops: int
    latency_ms: float
    train_seconds: float


class TabularBenchmark:
    """The trained table: `evaluate(arch)` is the trial's result, instantly."""

    def __init__(self, path: Path = TABLE):
        with open(path, newline="") as file:
            rows = list(csv.DictReader(file))
        self.results = {row["arch"]: TabularResult(float(row["validation_accuracy"]), float(row["test_accuracy"]),
                                                   int(row["params"]), int(row["flops"]), float(row["latency_ms"]),
                                                   float(row["train_seconds"])) for row in rows}
        self.space = TABULAR_SPACE
        best = max(self.results.values(), key=lambda result: result.validation_accuracy)
        self.best_validation_accuracy = best.validation_accuracy
        self.best_test_accuracy = max(result.test_accuracy for result in self.results.values())

    def evaluate(self, arch: Architecture) -> TabularResult:
        return self.results[self.space.validate(arch).key]

    def __len__(self) -> int:
        return len(self.results)
