"""The default searches, as the README's first command runs them, over seeds: wall time, what they found, and
Ray's cost per trial.

    python benchmarks/default_search.py                    # cnn with rl and random, mlp with random; 3 seeds each
    python benchmarks/default_search.py --runs cnn:rl --seeds 1 -- --trials 4 --epochs 1

Each search runs as the README runs it (`python -m nas.search --space S --strategy T --seed N`), in a fresh process
with a fresh store, timed from outside. Per trial, the overhead is the trial's wall time in the store (started to
finished, as the driver saw it) minus its training time: building the model, measuring its cost, evaluating it on
the validation split each epoch, and Ray's scheduling. Prints a Markdown table of mean ± standard deviation.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.seeds import print_table, spread  # noqa: E402
from results import ResultStore  # noqa: E402


def run_search(space: str, strategy: str, seed: int, extra: list[str], output: Path) -> tuple[dict, float]:
    command = [sys.executable, "-m", "nas.search", "--space", space, "--strategy", strategy, "--seed", str(seed),
               "--json", "--output", str(output), "--name", f"bench-{space}-{strategy}-{seed}", *extra]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1]), wall


def trial_overheads(output: Path, run: str) -> list[float]:
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        trials = store.trials(run)
    return [(trial.finished_at - trial.started_at).total_seconds() - trial.train_seconds
            for trial in trials if trial.train_seconds is not None and trial.started_at and trial.finished_at]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["cnn:rl", "cnn:random", "mlp:random"], metavar="SPACE:STRATEGY")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more nas.search arguments, after --")
    args = parser.parse_args()
    rows = []
    for space, strategy in (run.split(":", 1) for run in args.runs):
        runs = []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory(prefix="nas-bench-") as folder:
                summary, wall = run_search(space, strategy, seed, args.extra, Path(folder))
                runs.append((summary, wall, statistics.median(trial_overheads(Path(folder), summary["run"]))))
        bests = [summary["best"] for summary, _, _ in runs]
        reference_wins = sum(best["trial"] == 0 for best in bests)
        rows.append(f"| `nas.search --space {space} --strategy {strategy}` "
                    f"| {spread([wall for _, wall, _ in runs], digits=0)} "
                    f"| {spread([summary['trials_completed'] for summary, _, _ in runs], digits=1)} / "
                    f"{sum(summary['trials_failed'] for summary, _, _ in runs)} "
                    f"| {spread([best['validation_accuracy'] for best in bests], 100)}% "
                    f"| {spread([best['test_accuracy'] for best in bests], 100)}% "
                    f"| {spread([best['params'] for best in bests], digits=0)} | {reference_wins} of {len(runs)} "
                    f"| {spread([overhead for _, _, overhead in runs])} |")
        print(rows[-1], file=sys.stderr, flush=True)
    print_table(["command", "wall s", "trials done / failed (all seeds)", "best val acc", "its test acc", "its params",
                 "winner is the reference (trial 0)", "per-trial time outside training s (median)"], rows, args.seeds)


if __name__ == "__main__":
    main()
