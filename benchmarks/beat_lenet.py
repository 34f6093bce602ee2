"""Beat the lecture's hand-made CNN: a time-boxed search for a small network, on 2 CPU cores, timed from outside.

    python benchmarks/beat_lenet.py                                          # MNIST, 30 minutes, strategy rl
    python benchmarks/beat_lenet.py --strategy evolution rl --dataset mnist fashion_mnist digits
    python benchmarks/beat_lenet.py --time-budget 5m --output beat-runs      # a shorter check; keep the stores

Each search is the command a user types, in its own process with a fresh store, e.g.

    python -m nas.search --space cnn --data ../shared/data/mnist.npz --time-budget 30m --max-params 20000 --strategy rl

The time budget covers the whole command (trials, then the final training of the winner, which gets the last 40%
and as many epochs as fit there). The winner is chosen on validation accuracy; its test accuracy is measured once,
after its final training. Prints a Markdown table next to the lecture's LeNet (99.36%, 1,256,080 parameters).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPOSITORY.parent / "shared" / "data" / "mnist.npz"
# The lecture's LeNet: its test accuracy (the lecture's table), and what this machine measured for it: nas.train
# --reference lenet (benchmarks/reproduce_lecture.py: 99.18%, 386 s for 20 epochs on both cores) and its batch-1
# latency on one thread, as search trials measure (benchmarks/latency_spread.py --threads 1: median 0.480 ms).
LECTURE_LENET = {"test": 0.9936, "reproduced": 0.9918, "params": 1_256_080, "flops": 13_095_470, "latency_ms": 0.480,
                 "train_seconds": 386}


def dataset_flags(name: str) -> list[str]:
    """Full MNIST from ../shared when it is there (the bundled copy is the same data); the others by name."""
    if name == "mnist" and SHARED_MNIST.exists():
        return ["--data", str(SHARED_MNIST)]
    return ["--dataset", name]


def run_search(dataset: str, strategy: str, args, output: Path) -> dict:
    name = f"beat-lenet-{dataset}-{strategy}"
    command = [sys.executable, "-m", "nas.search", "--space", "cnn", *dataset_flags(dataset), "--time-budget",
               args.time_budget, "--max-params", str(args.max_params), "--strategy", strategy,
               "--output", str(output), "--name", name, "--json", *args.extra]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"the search failed (exit {finished.returncode}); its messages are above")
    summary = {**json.loads(finished.stdout.strip().splitlines()[-1]), "wall": wall, "command": command[1:]}
    (output / f"{name}.json").write_text(json.dumps(summary, indent=1))  # next to the run's store and report
    return summary


def row(dataset: str, strategy: str, summary: dict) -> str:
    best = summary["best"] or {}
    final = next((final for final in summary["final_training"] if final["trial"] == best.get("trial")), {})
    test = best.get("test_accuracy")
    trials = summary["trials_completed"] + summary["trials_stopped"]
    return (f"| {dataset} | {strategy} | {'-' if test is None else f'{100 * test:.2f}%'} "
            f"| {100 * best.get('validation_accuracy', 0):.2f}% | {best.get('params', 0):,} | {best.get('flops', 0):,} "
            f"| {best.get('latency_ms', 0):.3f} | {final.get('epochs', '-')} | {final.get('train_seconds', 0):.0f} "
            f"| {trials} / {summary['trials_failed']} | {summary['wall'] / 60:.1f} | `{best.get('arch', '')}` |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["mnist"], choices=["mnist", "fashion_mnist", "digits"])
    parser.add_argument("--strategy", nargs="+", default=["rl"])
    parser.add_argument("--time-budget", default="30m")
    parser.add_argument("--max-params", type=int, default=20_000)
    parser.add_argument("--output", help="keep the stores and reports here (default: a temporary folder)")
    parser.add_argument("extra", nargs="*", help="more nas.search arguments, after --")
    args = parser.parse_args()
    folder = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="nas-beat-lenet-"))
    rows = []
    for dataset in args.dataset:
        for strategy in args.strategy:
            rows.append(row(dataset, strategy, run_search(dataset, strategy, args, folder)))
            print(rows[-1], file=sys.stderr, flush=True)
    lenet = LECTURE_LENET
    print("| dataset | strategy | test acc | val acc | params | FLOPs | latency ms (batch 1, 1 thread) | final epochs "
          "| final training s | trials scored / failed | wall min | architecture |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| mnist | the lecture's LeNet | {100 * lenet['test']:.2f}% (here: {100 * lenet['reproduced']:.2f}%) | - "
          f"| {lenet['params']:,} | {lenet['flops']:,} | {lenet['latency_ms']:.3f} | 20 | {lenet['train_seconds']} "
          "| - | - | hand-made |")
    print("\n".join(rows))
    print(f"\nstores and reports: {folder}")


if __name__ == "__main__":
    main()
