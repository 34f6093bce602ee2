"""Ranking honesty of weight sharing: do architectures scored with shared weights rank as they do trained alone?

    python benchmarks/ranking_honesty.py                     # fashion-cnn's 672 architectures, 3 supernet seeds
    python benchmarks/ranking_honesty.py --steps 500 2000 --seeds 1

The ground truth is the `fashion-cnn` tabular benchmark (benchmarks/tabular.py): every one of the 672 architectures
of a reduced cnn space trained alone for 2 epochs on 2,000 Fashion-MNIST images and scored on 2,000 validation
images. For each seed and each number of steps, a supernet (nas/weight_sharing) trains its shared weights on the
same 2,000 training images, one uniformly drawn architecture of the reduced space per batch, then scores all 672 on
the same 2,000 validation images. Reported, mean ± standard deviation over seeds: Kendall's tau and Spearman's rho
(scipy) between the two scores, how many of the 20 best alone are among the 20 best shared, the alone-accuracy of
the architecture the shared weights rank first (against the table's best), and the wall time of training and of
scoring.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.seeds import print_table, spread  # noqa: E402
from benchmarks.tabular import BENCHMARKS, CNN_FIXED, TabularBenchmark  # noqa: E402

TOP = 20


def measure(seed: int, steps: int, table: TabularBenchmark, data, batch_size: int) -> dict:
    from scipy.stats import kendalltau, spearmanr

    from nas.weight_sharing.supernet import SharedWeights

    rng = np.random.default_rng(seed)
    calibration = data.x_train[rng.choice(len(data.x_train), 500, replace=False)]
    shared = SharedWeights(data.input_shape, data.num_outputs, seed=seed, total_steps=steps,
                           calibration=calibration)
    start = time.perf_counter()
    order = np.array([], dtype=int)
    for _ in range(steps):
        if len(order) < batch_size:
            order = rng.permutation(len(data.x_train))
        index, order = order[:batch_size], order[batch_size:]
        arch = {**CNN_FIXED, **table.space.sample(rng)}
        shared.train_step(arch, data.x_train[index], data.y_train[index])
    trained = time.perf_counter() - start
    keys = sorted(table.results)
    alone = np.array([table.results[key].validation_accuracy for key in keys])
    start = time.perf_counter()
    with_shared = np.array([shared.accuracy({**CNN_FIXED, **table.space.from_key(key)}, data.x_validation,
                                            data.y_validation) for key in keys])
    scored = time.perf_counter() - start
    best_alone, best_shared = set(np.argsort(-alone)[:TOP]), set(np.argsort(-with_shared)[:TOP])
    better_half = alone >= np.median(alone)
    return {"seed": seed, "steps": steps, "tau": float(kendalltau(with_shared, alone).statistic),
            "tau_better_half": float(kendalltau(with_shared[better_half], alone[better_half]).statistic),
            "rho": float(spearmanr(with_shared, alone).statistic), "top_overlap": len(best_alone & best_shared),
            "chosen_alone": float(alone[int(np.argmax(with_shared))]), "best_alone": float(alone.max()),
            "mean_shared": float(with_shared.mean()), "train_s": trained, "score_s": scored,
            "architectures": len(keys)}


def control_row(table: TabularBenchmark, data) -> str:
    """The control: the same figures for a free guess that needs no shared weights, ranking by parameter count."""
    from scipy.stats import kendalltau, spearmanr

    from nas.weight_sharing.supernet import child_size

    keys = sorted(table.results)
    alone = np.array([table.results[key].validation_accuracy for key in keys])
    params = np.array([child_size({**CNN_FIXED, **table.space.from_key(key)}, data.input_shape,
                                  data.num_outputs).params for key in keys], dtype=float)
    better_half = alone >= np.median(alone)
    best_alone, best_guess = set(np.argsort(-alone)[:TOP]), set(np.argsort(-params)[:TOP])
    return (f"| control: more parameters ranked higher | {kendalltau(params, alone).statistic:.2f} | "
            f"{kendalltau(params[better_half], alone[better_half]).statistic:.2f} | "
            f"{spearmanr(params, alone).statistic:.2f} | {len(best_alone & best_guess)} of {TOP} | "
            f"{100 * alone[int(np.argmax(params))]:.2f}% | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="+", default=[1000])
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from nas.data.sources import load_data
    from nas.data.datasets import read_dataset

    table = TabularBenchmark("fashion-cnn")
    spec = BENCHMARKS["fashion-cnn"].recipe
    training_images = len(read_dataset("fashion_mnist")["y_train"])
    data = load_data(dataset="fashion_mnist", seed=spec["seed"],
                     validation_fraction=spec["validation_images"] / training_images)
    data = data.training_subset(spec["train_images"], seed=spec["seed"])
    rows = [control_row(table, data)]
    for steps in args.steps:
        results = []
        for seed in range(args.seeds):
            results.append(measure(seed, steps, table, data, args.batch_size))
            print(results[-1], file=sys.stderr, flush=True)
        figure = lambda name, scale=1.0, digits=2: spread([r[name] for r in results], scale, digits)  # noqa: E731
        rows.append(f"| {steps} ({steps * args.batch_size / len(data.x_train):.0f} epochs) | {figure('tau')} | "
                    f"{figure('tau_better_half')} | "
                    f"{figure('rho')} | {figure('top_overlap', digits=1)} of {TOP} | "
                    f"{figure('chosen_alone', 100)}% (best {100 * results[0]['best_alone']:.2f}%) | "
                    f"{figure('mean_shared', 100)}% | {figure('train_s', digits=0)} | {figure('score_s', digits=0)} |")
    print(f"fashion-cnn: {len(table.results)} architectures, shared weights trained on {len(data.x_train)} images "
          f"in batches of {args.batch_size}, scored on {len(data.x_validation)} validation images.\n")
    print_table(["shared-weight steps", "Kendall tau", "tau, better half alone", "Spearman rho", f"top-{TOP} overlap",
                 "alone-accuracy of the shared weights' first", "mean shared accuracy", "training s", "scoring s"],
                rows, args.seeds)


if __name__ == "__main__":
    main()
