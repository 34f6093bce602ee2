"""Compare every strategy on the tabular benchmark: mean best validation accuracy, the test accuracy of the
architecture chosen by validation, and regret, against the number of trials.

    python benchmarks/compare_strategies.py                       # 4 strategies x 20 seeds x 200 trials
    python benchmarks/compare_strategies.py --seeds 3 --trials 50

Regret after N trials: the table's best validation accuracy minus the best one found. Prints a Markdown table
and writes `compare_strategies.csv` (every strategy, seed and trial count) next to `--to`.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.tabular import TABLE, TabularBenchmark  # noqa: E402
from strategies import STRATEGIES, get_strategy  # noqa: E402

CHECKPOINTS = (10, 25, 50, 100, 150, 200)


def run_one(benchmark: TabularBenchmark, strategy_name: str, seed: int, trials: int) -> list[tuple[float, float]]:
    """(best validation accuracy so far, test accuracy of that architecture) after each trial."""
    strategy = get_strategy(strategy_name, benchmark.space, seed=seed)
    best_validation, chosen_test, curve = 0.0, 0.0, []
    for _ in range(trials):
        trial = strategy.ask()
        if trial is None:  # the space is exhausted
            curve.append(curve[-1])
            continue
        result = benchmark.evaluate(trial.arch)
        if result.validation_accuracy > best_validation:
            best_validation, chosen_test = result.validation_accuracy, result.test_accuracy
        strategy.tell(trial, result.validation_accuracy)
        curve.append((best_validation, chosen_test))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--table", default=str(TABLE), help="the tabular benchmark's CSV")
    parser.add_argument("--to", default=str(Path(__file__).resolve().parent / "results" / "compare_strategies.csv"))
    args = parser.parse_args()
    benchmark = TabularBenchmark(Path(args.table))
    checkpoints = [count for count in CHECKPOINTS if count <= args.trials]
    Path(args.to).parent.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[int, tuple[float, float, float]]] = {}
    with open(args.to, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["strategy", "seed", "trials", "best_validation_accuracy", "its_test_accuracy", "regret"])
        for name in args.strategies:
            start = time.perf_counter()
            curves = [run_one(benchmark, name, seed, args.trials) for seed in range(args.seeds)]
            for seed, curve in enumerate(curves):
                for count, (validation, test) in enumerate(curve, start=1):
                    writer.writerow([name, seed, count, validation, test,
                                     round(benchmark.best_validation_accuracy - validation, 6)])
            means = np.mean(np.array(curves), axis=0)  # (trials, 2): mean best validation, mean its test
            summary[name] = {count: (float(means[count - 1, 0]), float(means[count - 1, 1]),
                                     benchmark.best_validation_accuracy - float(means[count - 1, 0]))
                             for count in checkpoints}
            print(f"{name}: {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
    print(f"Tabular benchmark: {len(benchmark)} architectures, best validation accuracy "
          f"{100 * benchmark.best_validation_accuracy:.2f}%; {args.seeds} seeds.\n")
    print("| strategy | " + " | ".join(f"{count} trials" for count in checkpoints) + " |")
    print("|---|" + "---|" * len(checkpoints))
    for name, by_count in summary.items():
        cells = [f"{100 * validation:.2f}% / {100 * test:.2f}% / {100 * regret:.2f}"
                 for validation, test, regret in by_count.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nEach cell: mean best validation accuracy / mean test accuracy of the architecture chosen by validation "
          "/ mean regret (points of validation accuracy below the table's best).")
    if "random" in summary:
        print("\nRegret relative to random search:\n")
        print("| strategy | " + " | ".join(f"{count} trials" for count in checkpoints) + " |")
        print("|---|" + "---|" * len(checkpoints))
        for name, by_count in summary.items():
            ratios = [by_count[count][2] / summary["random"][count][2] if summary["random"][count][2] else float("nan")
                      for count in checkpoints]
            print(f"| {name} | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |")


if __name__ == "__main__":
    main()
