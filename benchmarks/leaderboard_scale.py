"""The leaderboard of a large store: 100,000 trials over 100 runs, against reading the same rows raw.

    python benchmarks/leaderboard_scale.py                   # 100 runs x 1,000 trials
    python benchmarks/leaderboard_scale.py --runs 10 --trials-per-run 1000

A SQLite store is filled with synthetic runs whose trials look like a cnn search's (an architecture, its figures,
validation metrics and the built model's layers, as the recorder stores them; a quarter failed over a limit). Then,
each 3 times in a fresh process, timed from outside: `python -m nas.leaderboard --top 20` (the command a user
types, the whole store ranked), `... --run NAME --top 20` (one run), and the baseline, a Python process that
imports sqlite3 and fetches every row of the trials table. Prints the median wall times and their ratio to the
baseline as a Markdown table.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from results import ResultStore, RunRecord, RunStatus, TrialRecord, TrialStatus  # noqa: E402
from results.schema import to_row, trials_table  # noqa: E402  (a bulk insert: the store writes one row at a time)

LAYERS = [{"kind": "input", "label": "28x28x1", "shape": [28, 28, 1], "params": 0}] + [
    {"kind": kind, "label": f"{kind} {index}", "shape": [14, 14, 16], "params": 160 * index}
    for index, kind in enumerate(["conv", "batch_norm", "activation", "pool", "conv", "batch_norm", "activation",
                                  "pool", "flatten", "dense"], start=1)]


def fill(path: Path, runs: int, trials_per_run: int) -> None:
    """Runs and trials written through the store, as searches write them (one transaction per run here)."""
    rng = np.random.default_rng(0)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with ResultStore(f"sqlite:///{path}") as store:
        for run_index in range(runs):
            name = f"run-{run_index:03d}"
            store.create_run(RunRecord(name, "cnn", "random", "mnist", RunStatus.COMPLETED, {"space": "cnn"},
                                       created_at=start + timedelta(hours=run_index), objective="accuracy",
                                       direction="max"))
            rows = []
            for number in range(trials_per_run):
                arch = {"blocks": int(rng.integers(1, 4)), "filters_1": int(rng.choice([8, 16, 32])),
                        "pooling": str(rng.choice(["max", "avg"])), "head": str(rng.choice(["gap", "flatten"]))}
                key = ",".join(f"{k}={v}" for k, v in arch.items())
                begun = start + timedelta(hours=run_index, seconds=10 * number)
                if rng.random() < 0.25:
                    rows.append(TrialRecord(name, number, TrialStatus.FAILED, key, arch, error="over the limit: "
                                            "30,000 parameters > max_params 20,000; not trained", params=30_000,
                                            started_at=begun, finished_at=begun + timedelta(seconds=1)))
                    continue
                accuracy = float(rng.uniform(0.5, 0.99))
                rows.append(TrialRecord(
                    name, number, TrialStatus.COMPLETED, key, arch, validation_accuracy=accuracy,
                    params=int(rng.integers(1_000, 20_000)), flops=int(rng.integers(10**5, 10**7)),
                    latency_ms=float(rng.uniform(0.2, 0.9)), train_seconds=float(rng.uniform(5, 60)), epochs=2,
                    node="node", host="host", started_at=begun, finished_at=begun + timedelta(seconds=9),
                    attempts=1, cpu_seconds=9.0, gpu_seconds=0.0, latency_device="CPU:0", latency_threads=1,
                    latency_batch_size=32, latency_batch_ms=2.0, score=accuracy,
                    metrics={"val_accuracy": accuracy, "val_loss": 1 - accuracy}, layers=LAYERS))
            with store.engine.begin() as connection:  # one transaction for the run's rows: filling is not timed
                connection.execute(trials_table.insert(), [to_row(row) for row in rows])


def timed(command: list[str], repeats: int) -> float:
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        if finished.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-2000:]}")
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--trials-per-run", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nas-leaderboard-scale-"))
    path = folder / "nas.db"
    started = time.perf_counter()
    fill(path, args.runs, args.trials_per_run)
    print(f"filled {args.runs * args.trials_per_run:,} trials over {args.runs} runs in "
          f"{time.perf_counter() - started:.0f} s ({path.stat().st_size / 2**20:,.0f} MB)", file=sys.stderr)
    with sqlite3.connect(path) as connection:
        connection.execute("pragma wal_checkpoint(truncate)")
    raw = [sys.executable, "-c", f"import sqlite3; rows = sqlite3.connect({str(path)!r}).execute("
                                 "'select * from trials').fetchall(); print(len(rows))"]
    baseline = timed(raw, args.repeats)
    middle = f"run-{args.runs // 2:03d}"
    commands = {
        "`nas.leaderboard --top 20` (every run)": [sys.executable, "-m", "nas.leaderboard", "--output",
                                                   str(folder), "--top", "20"],
        f"`nas.leaderboard --run {middle} --top 20`": [sys.executable, "-m", "nas.leaderboard", "--output",
                                                     str(folder), "--run", middle, "--top", "20"],
    }
    print(f"{args.runs * args.trials_per_run:,} trials over {args.runs} runs; median of {args.repeats} fresh "
          "processes each, imports included.\n")
    print("| command | wall s | ratio to the raw read |\n|---|---|---|")
    print(f"| baseline: python + sqlite3, every trial row fetched | {baseline:.2f} | 1.00 |")
    for label, command in commands.items():
        wall = timed(command, args.repeats)
        print(f"| {label} | {wall:.2f} | {wall / baseline:.2f} |")
    print(f"\nstore: {path}")


if __name__ == "__main__":
    main()
