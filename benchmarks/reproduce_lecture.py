"""Reproduce the seed lecture's table: its three hand-made models trained by nas.train, over several seeds, with the
lecture's recipe and (the control for searched networks) with the recipe nas gives a search's winner.

    python benchmarks/reproduce_lecture.py                          # all three, lecture's recipe, 3 seeds (25 min)
    python benchmarks/reproduce_lecture.py --references lenet --recipe final --epochs 24
    python benchmarks/reproduce_lecture.py --epochs 1 --seeds 1     # a quick check of the pipeline
    python benchmarks/reproduce_lecture.py --references --searched /tmp/beat/beat-lenet-mnist-*.json
    python benchmarks/reproduce_lecture.py --dataset fashion_mnist  # the lecture's models on another dataset

Each training runs as `python -m nas.train --reference NAME --seed S --json` in its own process, so TensorFlow gets
every core. `--recipe lecture` is the lecture's (constant Adam 1e-3 or SGD 0.01, batches of 128, no shifts, 20
epochs); `--recipe final` is what a search's final training gives its winner (nas.settings' defaults: cosine
schedule, images shifted by up to 2 pixels, the search's learning rate and batch size), for `--epochs` epochs.
`--searched` adds the winners of searches beside them: it reads the `nas.search --json` summaries that
benchmarks/beat_lenet.py saves, each seed's, and averages them per run name. Every row is mean ± standard deviation
over its seeds; nothing is printed from constants but the lecture's own column.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.seeds import print_table, spread  # noqa: E402
from nas.settings.search_config import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE  # noqa: E402

# The lecture's own figures (full MNIST, 20 epochs, batch 128): what it reported, for its column only.
LECTURE = {"perceptron": (0.9101, 7_850), "mlp": (0.9514, 118_282), "lenet": (0.9936, 1_256_080)}
FINAL_RECIPE = ["--lr-schedule", "cosine", "--augment", "shift", "--learning-rate", str(DEFAULT_LEARNING_RATE),
                "--batch-size", str(DEFAULT_BATCH_SIZE)]


def train_reference(name: str, dataset: str, seed: int, recipe: str, epochs: int | None) -> dict:
    command = [sys.executable, "-m", "nas.train", "--reference", name, "--dataset", dataset, "--seed", str(seed),
               "--json", *(FINAL_RECIPE if recipe == "final" else [])]
    if epochs:
        command += ["--epochs", str(epochs)]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr}")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = time.perf_counter() - start
    return figures


def reference_row(name: str, runs: list[dict], recipe: str, dataset: str) -> str:
    lecture_accuracy, _ = LECTURE[name] if dataset == "mnist" else (None, None)
    lecture = "-" if lecture_accuracy is None else f"{100 * lecture_accuracy:.2f}%"
    first = runs[0]
    return (f"| {name}, {recipe} recipe, {first['epochs']} epochs | {lecture} "
            f"| {spread([run['test_accuracy'] for run in runs], 100)}% | {first['params']:,} | {first['flops']:,} "
            f"| {spread([run['latency_ms'] for run in runs], digits=3)} "
            f"| {spread([run['train_seconds'] for run in runs], digits=0)} | - |")


def searched_rows(paths: list[Path]) -> list[str]:
    """One row per search command, its seeds averaged: the summaries of a run name's seeds (`...-seedN.json`)."""
    by_run: dict[str, list[dict]] = {}
    for path in paths:
        summary = json.loads(path.read_text())
        by_run.setdefault(re.sub(r"-seed\d+$", "", summary["run"]), []).append(summary)
    rows = []
    for run, summaries in by_run.items():
        winners = [summary["best"] for summary in summaries]
        finals = [next(final for final in summary["final_training"] if final["trial"] == best["trial"])
                  for summary, best in zip(summaries, winners)]
        rows.append(f"| searched: {run} | - | {spread([best['test_accuracy'] for best in winners], 100)}% "
                    f"| {spread([best['params'] for best in winners], digits=0)} "
                    f"| {spread([best['flops'] for best in winners], digits=0)} "
                    f"| {spread([best['latency_ms'] for best in winners], digits=3)} "
                    f"| {spread([final['train_seconds'] for final in finals], digits=0)} "
                    f"({spread([final['epochs'] for final in finals], digits=0)} epochs) "
                    f"| {spread([summary['wall_seconds'] / 60 for summary in summaries], digits=1)} min |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (the lecture's: 20)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (default 3)")
    parser.add_argument("--recipe", choices=["lecture", "final"], default="lecture",
                        help="the lecture's recipe, or the one a search's winner gets (default: lecture)")
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
    if args.seeds < 1:
        parser.error("expected --seeds >= 1")
    rows = [reference_row(name, [train_reference(name, args.dataset, seed, args.recipe, args.epochs)
                                 for seed in range(args.seeds)], args.recipe, args.dataset)
            for name in args.references]
    print(f"{args.dataset}.", end=" ")
    print_table(["model", "lecture test acc", "nas test acc", "params", "FLOPs (2xMAC)", "latency ms", "train s",
                 "search wall"], rows + searched_rows(args.searched), args.seeds)


if __name__ == "__main__":
    main()
