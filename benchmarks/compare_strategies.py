"""Compare strategies on a tabular benchmark: mean best validation accuracy, the test accuracy of the architecture
chosen by validation, and regret, against the number of trials, with their spread over seeds.

    python benchmarks/compare_strategies.py                                  # mnist-mlp, 4 strategies x 20 seeds x 200
    python benchmarks/compare_strategies.py --benchmark fashion-cnn --trials 100
    python benchmarks/compare_strategies.py --in-flight 4 --failures 0.1     # as real searches run: 4 at once, failures
    python benchmarks/compare_strategies.py --strategies random "rl(batch_size=1)" "rl(learning_rate=0.03)"
    python benchmarks/compare_strategies.py --from benchmarks/results/compare_strategies-mnist-mlp.csv  # again

A strategy is a name, optionally with options in brackets (`rl(batch_size=1,learning_rate=0.03)`). With
`--in-flight K`, K trials are outstanding at a time and they finish in a random order (seeded), as on Ray; with
`--failures P`, each trial fails with probability P and is told as failed. Regret after N finished trials: the
table's best validation accuracy minus the best one found. Prints Markdown tables, writes every strategy, seed and
trial count to `--to` (CSV) and the curves to `--plot` (PNG, through matplotlib).
"""
from __future__ import annotations

import argparse
import ast
import csv
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.tabular import BENCHMARKS, TabularBenchmark  # noqa: E402
from strategies import STRATEGIES, get_strategy  # noqa: E402

CHECKPOINTS = (10, 25, 50, 100, 150, 200)
RESULTS = Path(__file__).resolve().parent / "results"
_SPEC = re.compile(r"^(\w+)(?:\((.*)\))?$")

# curves[strategy] has shape (seeds, trials, 2): the best validation accuracy after each finished trial, and the
# test accuracy of the architecture that holds it.
Curves = dict[str, np.ndarray]


def parse_strategy(spec: str) -> tuple[str, dict]:
    """`rl(batch_size=1,learning_rate=0.03)` -> ("rl", {"batch_size": 1, "learning_rate": 0.03})."""
    match = _SPEC.match(spec.replace(" ", ""))
    if not match or match.group(1) not in STRATEGIES:
        raise ValueError(f"expected a strategy among {', '.join(STRATEGIES)}, optionally with options in brackets "
                         f"like rl(batch_size=1); received {spec!r}")
    options = {}
    for pair in filter(None, (match.group(2) or "").split(",")):
        name, _, value = pair.partition("=")
        options[name] = ast.literal_eval(value)
    return match.group(1), options


def run_one(benchmark: TabularBenchmark, spec: str, seed: int, trials: int, in_flight: int = 1,
            failures: float = 0.0) -> list[tuple[float, float]]:
    """(best validation accuracy so far, test accuracy of that architecture) after each finished trial."""
    name, options = parse_strategy(spec)
    strategy = get_strategy(name, benchmark.space, seed=seed, **options)
    events = np.random.default_rng([seed, 7919])  # which outstanding trial finishes next, and which ones fail
    best, outstanding, asked, curve = (0.0, 0.0), [], 0, []
    while len(curve) < trials:
        while len(outstanding) < in_flight and asked < trials:
            trial = strategy.ask()
            if trial is None:  # the space is exhausted
                break
            outstanding.append(trial)
            asked += 1
        if not outstanding:
            curve.append(best)
            continue
        trial = outstanding.pop(int(events.integers(len(outstanding))))
        if events.random() < failures:
            strategy.tell(trial, None)
        else:
            result = benchmark.evaluate(trial.arch)
            if result.validation_accuracy > best[0]:
                best = (result.validation_accuracy, result.test_accuracy)
            strategy.tell(trial, result.validation_accuracy)
        curve.append(best)
    return curve


def run_all(benchmark: TabularBenchmark, specs: list[str], seeds: int, trials: int, in_flight: int,
            failures: float) -> Curves:
    curves = {}
    for spec in specs:
        start = time.perf_counter()
        curves[spec] = np.array([run_one(benchmark, spec, seed, trials, in_flight, failures) for seed in range(seeds)])
        print(f"{spec}: {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)
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


def summary(curves: Curves, best: float, count: int) -> dict[str, dict[str, float]]:
    """Per strategy after `count` trials: mean and standard deviation over seeds of the regret (points) and of the
    chosen architecture's test accuracy (%), and the mean regret as a multiple of random search's."""
    figures = {}
    for name, runs in curves.items():
        regret = 100 * (best - runs[:, count - 1, 0])
        test = 100 * runs[:, count - 1, 1]
        figures[name] = {"regret": regret.mean(), "regret_sd": regret.std(ddof=1) if len(regret) > 1 else 0.0,
                         "test": test.mean(), "test_sd": test.std(ddof=1) if len(test) > 1 else 0.0}
    random_regret = figures.get("random", {}).get("regret")
    for values in figures.values():
        values["ratio"] = values["regret"] / random_regret if random_regret else float("nan")
    return figures


def print_tables(curves: Curves, benchmark: TabularBenchmark, in_flight: int, failures: float) -> None:
    seeds, trials, _ = next(iter(curves.values())).shape
    checkpoints = [count for count in CHECKPOINTS if count <= trials]
    best = benchmark.best_validation_accuracy
    print(f"Tabular benchmark {benchmark.name}: {len(benchmark)} architectures, best validation accuracy "
          f"{100 * best:.2f}%; {seeds} seeds, {in_flight} trial(s) in flight, {100 * failures:.0f}% of trials "
          "failing.\n")
    header = "| strategy | " + " | ".join(f"{count} trials" for count in checkpoints) + " |\n|---|" + "---|" * len(
        checkpoints)
    print(header)
    for name, runs in curves.items():
        mean = runs.mean(axis=0)
        cells = [f"{100 * mean[count - 1, 0]:.2f}% / {100 * mean[count - 1, 1]:.2f}% / "
                 f"{100 * max(0.0, best - mean[count - 1, 0]):.2f}" for count in checkpoints]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nEach cell: mean best validation accuracy / mean test accuracy of the architecture chosen by validation "
          "/ mean regret (points of validation accuracy below the table's best).")
    for count in sorted({min(100, trials), trials}):
        figures = summary(curves, best, count)
        print(f"\nAfter {count} trials, mean ± standard deviation over {seeds} seeds:\n")
        print("| strategy | regret (points) | regret / random's | test acc of the chosen architecture |\n"
              "|---|---|---|---|")
        for name, values in figures.items():
            print(f"| {name} | {values['regret']:.2f} ± {values['regret_sd']:.2f} | {values['ratio']:.2f}x "
                  f"| {values['test']:.2f}% ± {values['test_sd']:.2f} |")


def plot(curves: Curves, benchmark: TabularBenchmark, path: Path, in_flight: int, failures: float) -> None:
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
    for axis, top in zip(axes[:2], (best, benchmark.best_test_accuracy)):
        axis.set_ylim(max(axis.get_ylim()[0], 100 * best - 3), 100 * top + 0.3)
    axes[2].set_yscale("symlog", linthresh=0.01)  # log above 0.01 points, linear down to a regret of 0
    axes[2].set_ylim(bottom=0)
    axes[0].legend(loc="lower right")
    seeds = next(iter(curves.values())).shape[0]
    figure.suptitle(f"Strategies on the {benchmark.name} tabular benchmark ({len(benchmark):,} architectures, "
                    f"{seeds} seeds, {in_flight} in flight, {100 * failures:.0f}% failing; band: one standard error)",
                    fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="mnist-mlp", choices=list(BENCHMARKS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), metavar="STRATEGY",
                        help="names, optionally with options: rl(batch_size=1)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=1, help="trials outstanding at once (default 1)")
    parser.add_argument("--failures", type=float, default=0.0, help="the probability a trial fails (default 0)")
    parser.add_argument("--table", help="the benchmark's CSV (default: the shipped one)")
    parser.add_argument("--to", help="where the curves go (CSV; default under benchmarks/results)")
    parser.add_argument("--plot", help="where the plot goes (PNG; default beside --to)")
    parser.add_argument("--from", dest="from_csv", metavar="CSV",
                        help="table and plot the curves of an earlier run instead of running the strategies")
    args = parser.parse_args()
    try:
        for spec in args.strategies:
            parse_strategy(spec)
    except (ValueError, SyntaxError) as error:
        parser.error(str(error))
    if args.in_flight < 1 or not 0 <= args.failures < 1:
        parser.error("expected --in-flight >= 1 and --failures in [0, 1)")
    benchmark = TabularBenchmark(args.benchmark, Path(args.table) if args.table else None)
    stem = f"compare_strategies-{args.benchmark}" + (f"-{args.in_flight}-in-flight" if args.in_flight > 1 else "") \
        + (f"-{round(100 * args.failures)}pc-failing" if args.failures else "")
    to = Path(args.to) if args.to else RESULTS / f"{stem}.csv"
    if args.from_csv:
        curves = read_csv(Path(args.from_csv))
    else:
        curves = run_all(benchmark, args.strategies, args.seeds, args.trials, args.in_flight, args.failures)
        write_csv(curves, benchmark.best_validation_accuracy, to)
    print_tables(curves, benchmark, args.in_flight, args.failures)
    plot_path = Path(args.plot) if args.plot else to.with_suffix(".png")
    plot(curves, benchmark, plot_path, args.in_flight, args.failures)
    print(f"\nCurves: {args.from_csv or to}\nPlot: {plot_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
