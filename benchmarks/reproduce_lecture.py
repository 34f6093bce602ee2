"""Reproduce the seed lecture's table: its three hand-made MNIST models, trained with its recipes by nas.train.

    python benchmarks/reproduce_lecture.py                 # all three, 20 epochs each (about 8 min on 2 cores)
    python benchmarks/reproduce_lecture.py --epochs 1      # a quick check of the pipeline
    python benchmarks/reproduce_lecture.py --searched /tmp/beat/beat-lenet-mnist-*.json   # + searched networks
    python benchmarks/reproduce_lecture.py --dataset fashion_mnist   # the lecture's models on another dataset

Each model runs as `python -m nas.train --reference NAME --json` in its own process, so TensorFlow gets every core.
`--searched` adds the networks that searches found, beside the lecture's: it reads the `nas.search --json`
summaries that benchmarks/beat_lenet.py saves (the winner's test accuracy, size, latency and final training time,
and the whole command's wall time). Prints a Markdown table next to the lecture's figures.
"""
from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
import sys
import time

# The lecture's figures (full MNIST, 20 epochs, batch 128).
LECTURE = {"perceptron": (0.9101, 7_850), "mlp": (0.9514, 118_282), "lenet": (0.9936, 1_256_080)}


def train_reference(name: str, epochs: int | None, dataset: str) -> dict:
    command = [sys.executable, "-m", "nas.train", "--reference", name, "--dataset", dataset, "--json"]
    if epochs:
        command += ["--epochs", str(epochs)]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr}")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = time.perf_counter() - start
    return figures


def searched_row(summary_path: Path) -> str:
    summary = json.loads(summary_path.read_text())
    best = summary["best"]
    final = next(run for run in summary["final_training"] if run["trial"] == best["trial"])
    return (f"| searched: {summary['run']} (trial {best['trial']}) | - | {100 * best['test_accuracy']:.2f}% "
            f"| {best['params']:,} | {best['flops']:,} | {best['latency_ms']:.3f} | {final['train_seconds']:.0f} "
            f"({final['epochs']} epochs) | {summary['wall_seconds'] / 60:.1f} min |")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override the lecture's 20 epochs")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist", "digits"],
                        help="the lecture's figures are MNIST's; elsewhere the models and recipes are the same")
    parser.add_argument("--references", nargs="*", choices=list(LECTURE), default=list(LECTURE),
                        help="the lecture's models to train (none: only the --searched rows)")
    parser.add_argument("--searched", nargs="*", type=Path, default=[], metavar="SUMMARY.json",
                        help="nas.search --json summaries whose winners join the table")
    args = parser.parse_args()
    for summary_path in args.searched:
        if not summary_path.is_file():
            parser.error(f"expected a nas.search --json summary at {summary_path}; no such file")
    print("| model | lecture test acc | nas test acc | params (lecture / nas) | FLOPs | latency ms | train s "
          "| search wall |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.references:
        figures = train_reference(name, args.epochs, args.dataset)
        lecture_accuracy, lecture_params = LECTURE[name] if args.dataset == "mnist" else (None, None)
        lecture_size = f"{lecture_params:,}" if lecture_params else "-"
        print(f"| {name} | {_percent(lecture_accuracy)} | {_percent(figures['test_accuracy'])} "
              f"| {lecture_size} / {figures['params']:,} | {figures['flops']:,} | {figures['latency_ms']:.3f} "
              f"| {figures['train_seconds']:.0f} | - |", flush=True)
    for summary_path in args.searched:
        print(searched_row(summary_path), flush=True)


if __name__ == "__main__":
    main()
