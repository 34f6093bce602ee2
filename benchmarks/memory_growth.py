"""Memory over a long search: the resident memory of the driver and of each trial worker, sampled as trials finish.

    python benchmarks/memory_growth.py                       # 500 mlp trials of 1 epoch on 500 MNIST images
    python benchmarks/memory_growth.py --trials 100 --space cnn

The search is the command a user types (`python -m nas.search ... --top-k 0`, in its own process). Every second
psutil reads the resident set size (RSS) of the driver and of each Ray worker that runs its trials (processes under
the driver whose command line names Tune's trainable), and the store says how many trials have finished. The
growth of a process is the slope of a least-squares line through its samples after the first `--warm-up` trials
(with glibc's malloc a worker's memory rose over its first 30-40 trials as TensorFlow's and the allocator's caches
filled) and until the last trial ends, in MB per 100 trials; the noise is the standard deviation of the samples
around that line.
Prints a Markdown table and, with --plot, draws RSS against trials finished (matplotlib).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from results import ResultStore, StoreError, TrialStatus  # noqa: E402

RUN = "memory"
WORKER_MARKS = ("ImplicitFunc", "search_trial")  # how a Tune trial worker's process title reads


def finished_trials(store_path: Path) -> int:
    try:
        with ResultStore(f"sqlite:///{store_path}", read_only=True) as store:
            return sum(trial.status is not TrialStatus.RUNNING for trial in store.trials(RUN))
    except StoreError:  # not created yet
        return 0


def trial_workers(driver: psutil.Process) -> list[psutil.Process]:
    """The search's trial workers: they descend from its driver, which started the local Ray (another search's
    workers on the machine are left out)."""
    workers = []
    for process in driver.children(recursive=True):
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:  # it ended meanwhile
            continue
        if any(mark in command for mark in WORKER_MARKS):
            workers.append(process)
    return workers


def sample(driver: psutil.Process, samples: dict[str, list[tuple[int, float]]], finished: int) -> None:
    processes = {"driver": driver, **{f"worker {process.pid}": process for process in trial_workers(driver)}}
    for name, process in processes.items():
        try:
            samples.setdefault(name, []).append((finished, process.memory_info().rss / 2**20))
        except psutil.Error:  # it ended between the listing and the reading
            pass


def growth(points: list[tuple[int, float]], warm_up: int) -> tuple[float, float, float, float] | None:
    """(MB per 100 trials, noise MB, first MB, last MB) of the samples after warm-up; None with too few."""
    # Samples taken once every trial had finished show the search closing down (the driver frees its memory).
    last = max(point[0] for point in points)
    kept = np.array([point for point in points if warm_up <= point[0] < last] + [
        next(point for point in points if point[0] == last)])
    if len(kept) < 5 or np.ptp(kept[:, 0]) == 0:
        return None
    slope, intercept = np.polyfit(kept[:, 0], kept[:, 1], 1)
    noise = float(np.std(kept[:, 1] - (slope * kept[:, 0] + intercept)))
    return 100 * float(slope), noise, float(kept[0, 1]), float(kept[-1, 1])


def plot(samples: dict[str, list[tuple[int, float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    for name, points in samples.items():
        trials, rss = zip(*points)
        axes.plot(trials, rss, label=name, linewidth=1)
    axes.set_xlabel("trials finished")
    axes.set_ylabel("resident memory (MB)")
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--space", default="mlp")
    parser.add_argument("--train-subset", type=int, default=500)
    parser.add_argument("--warm-up", type=int, default=100,
                        help="trials left out of the fit (default 100: a worker's memory fills TensorFlow's and the "
                             "allocator's caches over its first 30-40 trials, and 2 workers share the trials)")
    parser.add_argument("--output", help="keep the store here (default: a temporary folder)")
    parser.add_argument("--plot", type=Path, help="draw RSS against trials here (PNG)")
    args = parser.parse_args()
    folder = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="nas-memory-"))
    command = [sys.executable, "-m", "nas.search", "--space", args.space, "--strategy", "random", "--trials",
               str(args.trials), "--epochs", "1", "--train-subset", str(args.train_subset), "--top-k", "0",
               "--seed", "0", "--output", str(folder), "--name", RUN]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    search = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver, samples = psutil.Process(search.pid), {}
    while search.poll() is None:
        sample(driver, samples, finished_trials(folder / "nas.db"))
        time.sleep(1.0)
    if search.returncode != 0:
        raise SystemExit(f"the search failed (exit {search.returncode}); rerun it by hand to see why")
    rows = []
    for name, points in samples.items():
        fitted = growth(points, args.warm_up)
        if fitted is None:
            continue
        slope, noise, first, last = fitted
        rows.append(f"| {name} | {len(points)} | {first:,.0f} | {last:,.0f} | {slope:+.1f} | {noise:.1f} |")
    print(f"{args.trials} {args.space} trials of 1 epoch on {args.train_subset} MNIST images, "
          f"{(time.perf_counter() - started) / 60:.1f} min. Growth: least-squares slope after {args.warm_up} "
          "trials.\n")
    columns = ["process", "samples", f"RSS MB at trial {args.warm_up}", "RSS MB at the end", "growth MB / 100 trials",
               "noise MB (sd around the line)"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n" + "\n".join(rows))
    if args.plot:
        plot(samples, args.plot, f"Resident memory over a {args.trials}-trial {args.space} search")
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
