"""Train every architecture of a tabular benchmark's space once and write its table (`data/NAME_tabular.csv`).

    python benchmarks/build_tabular.py                            # mnist-mlp: all 1,009, 2 workers (about 30 min here)
    python benchmarks/build_tabular.py --benchmark fashion-cnn    # all 672 (about 25 min here)
    python benchmarks/build_tabular.py --workers 1 --limit 20

Each worker appends to its own part file as it goes; stopped and run again, it trains only what is missing.

Data: the benchmark's data set; stratified training and validation images from its training set (seed 0), as many
as its recipe says, and its full test set. Each worker process trains its share with one TensorFlow thread.
"""
from __future__ import annotations

import argparse
import csv
import glob
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tabular import BENCHMARKS, FIELDS  # noqa: E402


def train_share(benchmark: str, keys: list[str], output: str) -> None:
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from nas.estimator.cost import measure_cost
    from nas.data.sources import load_data
    from nas.data.datasets import read_dataset
    from nas.estimator.recipe import Optimizer
    from nas.estimator.evaluator import build_model
    from nas.estimator.recipe import Recipe
    from nas.estimator.training import evaluate, train

    spec = BENCHMARKS[benchmark]
    space, settings = spec.space, spec.recipe
    # nas.data.sources carves validation out as a fraction of the training set; the table's recipe counts images.
    training_images = len(read_dataset(spec.dataset)["y_train"])
    data = load_data(dataset=spec.dataset, seed=settings["seed"],
                     validation_fraction=settings["validation_images"] / training_images)
    if len(data.y_validation) != settings["validation_images"]:  # the table's figures hold for this split only
        raise SystemExit(f"expected {settings['validation_images']} validation images, the split made "
                         f"{len(data.y_validation)}")
    data = data.training_subset(settings["train_images"], seed=settings["seed"])
    recipe = Recipe(optimizer=Optimizer(settings["optimizer"]), learning_rate=settings["learning_rate"],
                    batch_size=settings["batch_size"], epochs=settings["epochs"])
    architectures = [space.from_key(key) for key in keys]
    with open(output, "w", newline="") as file:
        writer = csv.writer(file)
        for number, arch in enumerate(architectures):
            keras.backend.clear_session()
            model = build_model(space, arch, data.input_shape, data.num_outputs, data.task,
                                seed=settings["seed"])
            cost = measure_cost(model, data.input_shape)
            start = time.perf_counter()
            train(model, data.x_train, data.y_train, recipe, data.task, seed=settings["seed"])
            seconds = time.perf_counter() - start
            validation = evaluate(model, data.x_validation, data.y_validation, recipe, data.task)["accuracy"]
            test = evaluate(model, data.x_test, data.y_test, recipe, data.task)["accuracy"]
            writer.writerow([arch.key, round(validation, 5), round(test, 5), cost.params, cost.flops,
                             round(cost.latency_ms, 4), round(seconds, 3)])
            file.flush()
            print(f"{output}: {number + 1}/{len(architectures)}", file=sys.stderr, flush=True)


def finished_rows(space, table: str) -> dict[str, list[str]]:
    """Complete rows of every part file of `table` (a row cut by a kill is dropped and trained again)."""
    keys = {arch.key for arch in space.enumerate()}
    rows = {}
    for part in sorted(glob.glob(f"{table}.part*")):
        with open(part, newline="") as file:
            for row in csv.reader(file):
                if len(row) == len(FIELDS) and row[0] in keys and row[-1]:
                    rows[row[0]] = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N architectures (a quick check)")
    parser.add_argument("--benchmark", default="mnist-mlp", choices=list(BENCHMARKS))
    parser.add_argument("--to", help="the table's CSV (default: the benchmark's, under benchmarks/data)")
    args = parser.parse_args()
    space = BENCHMARKS[args.benchmark].space
    args.to = args.to or str(BENCHMARKS[args.benchmark].table)
    # Rows already trained (by a run that was stopped) are kept: each worker writes its own part file as it goes.
    done = finished_rows(space, args.to)
    remaining = [arch.key for arch in list(space.enumerate())[:args.limit] if arch.key not in done]
    stamp = time.strftime("%Y%m%d%H%M%S")
    shards = [f"{args.to}.part{worker}-{stamp}" for worker in range(args.workers)]
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=train_share, args=(args.benchmark, remaining[worker::args.workers], shard))
                 for worker, shard in enumerate(shards)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a worker failed with exit code {process.exitcode}; rerun to continue")
    rows = finished_rows(space, args.to)
    order = {arch.key: position for position, arch in enumerate(space.enumerate())}
    with open(args.to, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(FIELDS)
        writer.writerows(sorted(rows.values(), key=lambda row: order[row[0]]))
    shards = glob.glob(f"{args.to}.part*")
    for shard in shards:
        os.remove(shard)
    print(f"wrote {len(rows)} architectures to {args.to}", file=sys.stderr)


if __name__ == "__main__":
    main()
