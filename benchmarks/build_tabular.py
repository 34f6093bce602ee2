"""Train every architecture of the tabular benchmark's space once and write the table (`data/...csv`).

    python benchmarks/build_tabular.py                     # all 1,009, two worker processes (about 15 min here)
    python benchmarks/build_tabular.py --workers 1 --limit 20

Data: the bundled MNIST; a stratified 5,000 training and 5,000 validation images from its training set (seed 0),
and its full 10,000-image test set. Each worker process trains its share with one TensorFlow thread.
"""
from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tabular import FIELDS, RECIPE, TABLE, TABULAR_SPACE  # noqa: E402


def train_share(worker: int, workers: int, limit: int | None, output: str) -> None:
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from nas.datasets import load_dataset
    from nas.estimator import TrainingRecipe, build_model, evaluate_accuracy, measure_cost, train

    data = load_dataset("mnist", validation_size=RECIPE["validation_images"], seed=RECIPE["seed"])
    data = data.training_subset(RECIPE["train_images"], seed=RECIPE["seed"])
    recipe = TrainingRecipe(RECIPE["optimizer"], RECIPE["learning_rate"], RECIPE["batch_size"], RECIPE["epochs"])
    architectures = list(TABULAR_SPACE.enumerate())[:limit][worker::workers]
    with open(output, "w", newline="") as file:
        writer = csv.writer(file)
        for number, arch in enumerate(architectures):
            keras.backend.clear_session()
            model = build_model(TABULAR_SPACE, arch, data.input_shape, data.num_classes, seed=RECIPE["seed"])
            cost = measure_cost(model, data.input_shape)
            start = time.perf_counter()
            train(model, data.x_train, data.y_train, recipe, seed=RECIPE["seed"])
            seconds = time.perf_counter() - start
            writer.writerow([arch.key, round(evaluate_accuracy(model, data.x_validation, data.y_validation), 5),
                             round(evaluate_accuracy(model, data.x_test, data.y_test), 5), cost.params, cost.flops,
                             round(cost.latency_ms, 4), round(seconds, 3)])
            file.flush()
            print(f"worker {worker}: {number + 1}/{len(architectures)}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N architectures (a quick check)")
    parser.add_argument("--to", default=str(TABLE))
    args = parser.parse_args()
    shards = [f"{args.to}.part{worker}" for worker in range(args.workers)]
    processes = [multiprocessing.get_context("spawn").Process(target=train_share,
                                                              args=(worker, args.workers, args.limit, shard))
                 for worker, shard in enumerate(shards)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a worker failed with exit code {process.exitcode}")
    rows = [row for shard in shards for row in csv.reader(open(shard, newline=""))]
    order = {arch.key: position for position, arch in enumerate(TABULAR_SPACE.enumerate())}
    rows.sort(key=lambda row: order[row[0]])
    with open(args.to, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    for shard in shards:
        os.remove(shard)
    print(f"wrote {len(rows)} architectures to {args.to}", file=sys.stderr)


if __name__ == "__main__":
    main()
