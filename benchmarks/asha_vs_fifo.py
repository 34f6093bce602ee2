"""ASHA against FIFO at equal wall time: the best validation accuracy found so far against time, over seeds.

    python benchmarks/asha_vs_fifo.py                       # fashion_mnist, cnn, random, 9 epochs a trial, 10 min
    python benchmarks/asha_vs_fifo.py --dataset mnist --time-budget 5m --seeds 1 --output asha-runs

Each run is the command a user types, in its own process, e.g.

    python -m nas.search --space cnn --dataset fashion_mnist --strategy random --epochs 9 --scheduler asha
        --time-budget 10m --max-params 20000 --top-k 0 --seed 0

With 9 epochs a trial, ASHA (grace period 1, reduction factor 3, nas/runner/tune.py) judges trials at three rungs:
after 1, 3 and 9 epochs; FIFO trains every trial for all 9. `--top-k 0` gives the whole budget to trials, and
`random` with the same seed proposes the same architectures in the same order under both schedulers, so the
scheduler is the only difference. A run's curve is read from its store: after t seconds from the run's start, the
best validation accuracy among its trials finished by then (a trial ASHA stopped counts with the score it
reached). Every run's trials are saved as JSON in --output, and a rerun with the same folder measures only what is
missing. Prints a Markdown table (mean ± standard deviation over seeds) and draws the curves (matplotlib).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.seeds import measured_once, print_table, spread  # noqa: E402
from nas.settings.checks import duration  # noqa: E402
from results.store import ResultStore  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
SCHEDULERS = ("fifo", "asha")


def run_search(scheduler: str, seed: int, args, output: Path) -> dict:
    name = f"{scheduler}-{args.dataset}-{args.epochs}-epochs-seed{seed}"
    return measured_once(output / f"{name}.json", lambda: search(name, scheduler, seed, args, output))


def search(name: str, scheduler: str, seed: int, args, output: Path) -> dict:
    command = [sys.executable, "-m", "nas.search", "--space", args.space, "--dataset", args.dataset,
               "--strategy", args.strategy, "--epochs", str(args.epochs), "--scheduler", scheduler,
               "--time-budget", args.time_budget, "--max-params", str(args.max_params), "--top-k", "0",
               "--seed", str(seed), "--output", str(output), "--name", name]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    finished = subprocess.run(command, stdout=subprocess.DEVNULL, cwd=REPOSITORY)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"the search failed (exit {finished.returncode}); its messages are above")
    with ResultStore(f"sqlite:///{output.resolve() / 'nas.db'}") as store:
        run = store.get_run(name)
        trials = [{"seconds": (trial.finished_at - run.created_at).total_seconds(),
                   "validation_accuracy": trial.validation_accuracy, "epochs": trial.epochs,
                   "status": trial.status.value}
                  for trial in store.trials(name) if trial.finished_at is not None]
    return {"command": command[1:], "wall": wall, "trials": trials}


def best_so_far(run: dict, times: np.ndarray) -> np.ndarray:
    """The best validation accuracy among the trials finished by each time (0 before the first one)."""
    scored = sorted((trial["seconds"], trial["validation_accuracy"]) for trial in run["trials"]
                    if trial["validation_accuracy"] is not None)
    finish = np.array([seconds for seconds, _ in scored])
    best = np.maximum.accumulate([accuracy for _, accuracy in scored]) if scored else np.array([])
    index = np.searchsorted(finish, times, side="right")  # trials finished by each time
    return np.where(index > 0, best[np.maximum(index - 1, 0)] if len(best) else 0.0, 0.0)


def plot(curves: dict[str, np.ndarray], times: np.ndarray, path: Path, title: str) -> None:
    """Mean best-so-far validation accuracy against minutes, with the range over seeds. matplotlib draws."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for scheduler, curve in curves.items():
        axes.plot(times / 60, 100 * curve.mean(axis=0), label=f"{scheduler} (mean of {len(curve)} seeds)")
        axes.fill_between(times / 60, 100 * curve.min(axis=0), 100 * curve.max(axis=0), alpha=0.2)
    axes.set_xlabel("minutes since the search started")
    axes.set_ylabel("best validation accuracy so far (%)")
    axes.set_ylim(bottom=max(0.0, 100 * min(curve[:, -1].min() for curve in curves.values()) - 10))
    axes.set_title(title)
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist", choices=["mnist", "fashion_mnist", "digits"])
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--strategy", default="random")
    parser.add_argument("--epochs", type=int, default=9, help="epochs a trial (default 9: ASHA rungs at 1, 3, 9)")
    parser.add_argument("--time-budget", default="10m")
    parser.add_argument("--max-params", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", help="keep the stores and the runs' JSON here (default: a temporary folder)")
    parser.add_argument("--plot", type=Path, help="draw the curves here (PNG)")
    args = parser.parse_args()
    if args.seeds < 1 or args.epochs < 1:
        parser.error("expected --seeds >= 1 and --epochs >= 1")
    folder = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="nas-asha-vs-fifo-"))
    folder.mkdir(parents=True, exist_ok=True)
    budget = duration(args.time_budget)
    times = np.linspace(0, budget, 121)
    checkpoints = [budget * share for share in (0.25, 0.5, 0.75, 1.0)]
    runs = {scheduler: [run_search(scheduler, seed, args, folder) for seed in range(args.seeds)]
            for scheduler in SCHEDULERS}
    rows = []
    for scheduler, seeds in runs.items():
        at = [best_so_far(run, np.array(checkpoints)) for run in seeds]
        scored = [[trial for trial in run["trials"] if trial["validation_accuracy"] is not None] for run in seeds]
        rows.append(f"| {scheduler} | {spread([len(trials) for trials in scored], digits=0)} "
                    f"| {spread([sum(t['epochs'] == args.epochs for t in run['trials']) for run in seeds], digits=0)} "
                    f"| {spread([sum(t['epochs'] or 0 for t in run['trials']) for run in seeds], digits=0)} | "
                    + " | ".join(f"{spread([curve[i] for curve in at], 100)}%" for i in range(len(checkpoints)))
                    + f" | {spread([run['wall'] / 60 for run in seeds], digits=1)} |")
    print(f"{args.dataset}, {args.space} space, {args.strategy}, {args.epochs} epochs a trial, "
          f"--time-budget {args.time_budget}.", end=" ")
    print_table(["scheduler", "trials scored", f"trials trained {args.epochs} epochs", "epochs trained in all"]
                + [f"best val acc at {seconds / 60:g} min" for seconds in checkpoints] + ["wall min"],
                rows, args.seeds)
    if args.plot:
        curves = {scheduler: np.array([best_so_far(run, times) for run in seeds]) for scheduler, seeds in runs.items()}
        plot(curves, times, args.plot, f"ASHA against FIFO: {args.dataset}, {args.space}, {args.epochs} epochs a "
             f"trial")
        print(f"\ncurves: {args.plot}")
    print(f"stores: {folder}")


if __name__ == "__main__":
    main()
