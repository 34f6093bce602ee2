"""Compare every strategy on the tabular benchmark: mean best validation accuracy, the test accuracy of the
architecture chosen by validation, and regret, against the number of trials.

    python benchmarks/compare_strategies.py                       # 4 strategies x 20 seeds x 200 trials
    python benchmarks/compare_strategies.py --seeds 3 --trials 50
    python benchmarks/compare_strategies.py --from benchmarks/results/compare_strategies.csv   # table and plot again

Regret after N trials: the table's best validation accuracy minus the best one found. Prints a Markdown table,
writes every strategy, seed and trial count to `--to` (CSV) and the curves to `--plot` (PNG, through matplotlib).
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
RESULTS = Path(__file__).resolve().parent / "results"

# curves[strategy] has shape (seeds, trials, 2): the best validation accuracy after each trial, and the test
# accuracy of the architecture that holds it.
Curves = dict[str, np.ndarray]


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


def run_all(benchmark: TabularBenchmark, names: list[str], seeds: int, trials: int) -> Curves:
    curves = {}
    for name in names:
        start = time.perf_counter()
        curves[name] = np.array([run_one(benchmark, name, seed, trials) for seed in range(seeds)])
        print(f"{name}: {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
    return curves


def write_csv(curves: Curves, best_validation: float, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["strategy", "seed", "trials", "best_validation_accuracy", "its_test_accuracy", "regret"])
        for name, runs in curves.items():
            for seed, curve in enumerate(runs):
                for count, (validation, test) in enumerate(curve, start=1):
                    writer.writerow([name, seed, count, validation, test, round(best_validation - validation, 6)])


def read_csv(path: Path) -> Curves:
    """The curves a previous run wrote with write_csv."""
    rows: dict[str, dict[int, dict[int, tuple[float, float]]]] = {}
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            by_seed = rows.setdefault(row["strategy"], {})
            by_seed.setdefault(int(row["seed"]), {})[int(row["trials"])] = (
                float(row["best_validation_accuracy"]), float(row["its_test_accuracy"]))
    return {name: np.array([[curve[count] for count in sorted(curve)] for _, curve in sorted(by_seed.items())])
            for name, by_seed in rows.items()}


def print_tables(curves: Curves, benchmark: TabularBenchmark) -> None:
    seeds, trials, _ = next(iter(curves.values())).shape
    checkpoints = [count for count in CHECKPOINTS if count <= trials]
    best = benchmark.best_validation_accuracy
    means = {name: runs.mean(axis=0) for name, runs in curves.items()}  # (trials, 2)
    regret = {name: {count: max(0.0, best - mean[count - 1, 0]) for count in checkpoints}
              for name, mean in means.items()}
    header = "| strategy | " + " | ".join(f"{count} trials" for count in checkpoints) + " |\n|---|" + "---|" * len(
        checkpoints)
    print(f"Tabular benchmark: {len(benchmark)} architectures, best validation accuracy {100 * best:.2f}%; "
          f"{seeds} seeds.\n")
    print(header)
    for name, mean in means.items():
        cells = [f"{100 * mean[count - 1, 0]:.2f}% / {100 * mean[count - 1, 1]:.2f}% / {100 * regret[name][count]:.2f}"
                 for count in checkpoints]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nEach cell: mean best validation accuracy / mean test accuracy of the architecture chosen by validation "
          "/ mean regret (points of validation accuracy below the table's best).")
    if "random" in regret:
        print("\nRegret relative to random search:\n")
        print(header)
        for name, by_count in regret.items():
            ratios = [by_count[count] / regret["random"][count] if regret["random"][count] else float("nan")
                      for count in checkpoints]
            print(f"| {name} | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |")


def plot(curves: Curves, benchmark: TabularBenchmark, path: Path) -> None:
    """Three panels against trials: mean best validation accuracy, mean test accuracy of the architecture chosen by
    validation, and mean regret (log scale down to 0.01, then linear); each with a band of one standard error over
    seeds. matplotlib draws."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    best = benchmark.best_validation_accuracy
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True)
    for name, runs in curves.items():
        seeds, trials, _ = runs.shape
        counts = np.arange(1, trials + 1)
        panels = (100 * runs[..., 0], 100 * runs[..., 1], 100 * (best - runs[..., 0]))
        for axis, values in zip(axes, panels):
            mean, error = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(seeds) if seeds > 1 else 0
            (line,) = axis.plot(counts, mean, label=name)
            axis.fill_between(counts, mean - error, mean + error, color=line.get_color(), alpha=0.2, linewidth=0)
    axes[0].axhline(100 * best, color="grey", linestyle="--", linewidth=1, label="table's best")
    titles = ("Mean best validation accuracy (%)", "Mean test accuracy of the architecture chosen (%)",
              "Mean regret (validation points below the best)")
    for axis, title in zip(axes, titles):
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("trials")
        axis.grid(alpha=0.3)
    for axis in axes[:2]:
        axis.set_ylim(max(axis.get_ylim()[0], 100 * best - 3), 100 * best + 0.3)
    axes[2].set_yscale("symlog", linthresh=0.01)  # log above 0.01 points, linear down to a regret of 0
    axes[2].set_ylim(bottom=0)
    axes[0].legend(loc="lower right")
    seeds = next(iter(curves.values())).shape[0]
    figure.suptitle(f"Strategies on the tabular benchmark ({len(benchmark):,} mlp architectures on MNIST, "
                    f"{seeds} seeds, band: one standard error)", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--table", default=str(TABLE), help="the tabular benchmark's CSV")
    parser.add_argument("--to", default=str(RESULTS / "compare_strategies.csv"), help="where the curves go (CSV)")
    parser.add_argument("--plot", default=str(RESULTS / "compare_strategies.png"), help="where the plot goes (PNG)")
    parser.add_argument("--from", dest="from_csv", metavar="CSV",
                        help="table and plot the curves of an earlier run instead of running the strategies")
    args = parser.parse_args()
    benchmark = TabularBenchmark(Path(args.table))
    if args.from_csv:
        curves = read_csv(Path(args.from_csv))
    else:
        curves = run_all(benchmark, args.strategies, args.seeds, args.trials)
        write_csv(curves, benchmark.best_validation_accuracy, Path(args.to))
    print_tables(curves, benchmark)
    plot(curves, benchmark, Path(args.plot))
    print(f"\nPlot: {args.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
