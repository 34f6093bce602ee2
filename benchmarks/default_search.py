"""Time the default searches (`python -m nas.search --space cnn|mlp --strategy random`) and Ray's cost per trial.

    python benchmarks/default_search.py                    # both spaces, on the defaults
    python benchmarks/default_search.py --space cnn -- --trials 4 --epochs 1

Each search runs as the README runs it, in a fresh process with a fresh store. Per trial, the overhead is the
trial's wall time in the store (started to finished, as the driver saw it) minus its training time: building the
model, measuring its cost, evaluating it on the validation split each epoch, and Ray's scheduling.
Prints a Markdown table.
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
from results import ResultStore  # noqa: E402


def run_search(space: str, extra: list[str], output: Path) -> tuple[dict, float]:
    command = [sys.executable, "-m", "nas.search", "--space", space, "--strategy", "random", "--json",
               "--output", str(output), "--name", f"bench-{space}", *extra]
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
    parser.add_argument("--space", nargs="+", default=["cnn", "mlp"])
    parser.add_argument("extra", nargs="*", help="more nas.search arguments, after --")
    args = parser.parse_args()
    print("| space | wall s | trials done / failed | best val acc | its test acc | its params | "
          "per-trial time outside training s (median) |")
    print("|---|---|---|---|---|---|---|")
    for space in args.space:
        with tempfile.TemporaryDirectory(prefix="nas-bench-") as folder:
            summary, wall = run_search(space, args.extra, Path(folder))
            overheads = trial_overheads(Path(folder), summary["run"])
        best = summary["best"] or {}
        test = best.get("test_accuracy")
        print(f"| {space} | {wall:.0f} | {summary['trials_completed']} / {summary['trials_failed']} "
              f"| {100 * best.get('validation_accuracy', 0):.2f}% | {'-' if test is None else f'{100 * test:.2f}%'} "
              f"| {best.get('params', 0):,} | {statistics.median(overheads):.2f} |", flush=True)


if __name__ == "__main__":
    main()
