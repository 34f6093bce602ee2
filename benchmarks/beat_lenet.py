"""Beat the lecture's hand-made CNN: time-boxed searches for a small network on 2 CPU cores, over seeds, beside the
lecture's LeNet trained with the same final recipe for the same epochs (the control), and with the lecture's own.

    python benchmarks/beat_lenet.py                                          # MNIST, rl, 30 minutes, 3 seeds
    python benchmarks/beat_lenet.py --strategy evolution rl --dataset mnist fashion_mnist
    python benchmarks/beat_lenet.py --time-budget 5m --seeds 1 --output beat-runs   # a shorter check; keep the stores

With --output, every search and LeNet training saves its figures there as JSON, and a rerun with the same folder
measures only what is missing, so the 4.5 hours of both datasets can be run in parts.

Each search is the command a user types, in its own process with a fresh store, e.g.

    python -m nas.search --space cnn --dataset mnist --time-budget 30m --max-params 20000 --strategy rl --seed 0

The time budget covers the whole command (trials, then the final training of the winner, which gets the last 40%
and as many epochs as fit there). The winner is chosen on validation accuracy; its test accuracy is measured once,
after its final training. Then LeNet is trained by `nas.train --reference lenet` (benchmarks/reproduce_lecture.py)
with the final recipe for the winners' mean number of final epochs, and with the lecture's recipe, each over the
same seeds. Prints a Markdown table: mean ± standard deviation over seeds, every row measured here.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reproduce_lecture import train_reference  # noqa: E402
from benchmarks.seeds import measured_once, print_table, spread  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]


def run_search(dataset: str, strategy: str, seed: int, args, output: Path) -> dict:
    name = f"beat-lenet-{dataset}-{strategy}-seed{seed}"
    # Saved next to the run's store and report; a rerun with the same --output reuses it.
    return measured_once(output / f"{name}.json", lambda: search(name, dataset, strategy, seed, args, output))


def search(name: str, dataset: str, strategy: str, seed: int, args, output: Path) -> dict:
    command = [sys.executable, "-m", "nas.search", "--space", "cnn", "--dataset", dataset, "--time-budget",
               args.time_budget, "--max-params", str(args.max_params), "--strategy", strategy, "--seed", str(seed),
               "--output", str(output), "--name", name, "--json", *args.extra]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=REPOSITORY)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"the search failed (exit {finished.returncode}); its messages are above")
    return {**json.loads(finished.stdout.strip().splitlines()[-1]), "wall": wall, "command": command[1:]}


def train_lenet(dataset: str, recipe: str, epochs: int | None, seed: int, output: Path) -> dict:
    name = f"lenet-{dataset}-{recipe}-recipe-{epochs or 'its'}-epochs-seed{seed}"
    return measured_once(output / f"{name}.json", lambda: train_reference("lenet", dataset, seed, recipe, epochs))


def search_row(dataset: str, strategy: str, summaries: list[dict]) -> str:
    winners = [summary["best"] for summary in summaries]
    finals = [next(final for final in summary["final_training"] if final["trial"] == best["trial"])
              for summary, best in zip(summaries, winners)]
    trials = [summary["trials_completed"] + summary["trials_stopped"] for summary in summaries]
    return (f"| {dataset} | {strategy} | {spread([best['test_accuracy'] for best in winners], 100)}% "
            f"| {spread([best['validation_accuracy'] for best in winners], 100)}% "
            f"| {spread([best['params'] for best in winners], digits=0)} "
            f"| {spread([best['flops'] for best in winners], digits=0)} "
            f"| {spread([best['latency_ms'] for best in winners], digits=3)} "
            f"| {spread([final['epochs'] for final in finals], digits=1)} "
            f"| {spread([final['train_seconds'] for final in finals], digits=0)} "
            f"| {spread(trials, digits=0)} | {spread([summary['wall'] / 60 for summary in summaries], digits=1)} |")


def lenet_row(dataset: str, recipe: str, runs: list[dict]) -> str:
    return (f"| {dataset} | LeNet, {recipe} recipe | {spread([run['test_accuracy'] for run in runs], 100)}% | - "
            f"| {runs[0]['params']:,} | {runs[0]['flops']:,} | {spread([run['latency_ms'] for run in runs], digits=3)} "
            f"| {runs[0]['epochs']} | {spread([run['train_seconds'] for run in runs], digits=0)} | - | - |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["mnist"], choices=["mnist", "fashion_mnist", "digits"])
    parser.add_argument("--strategy", nargs="+", default=["rl"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per search and per LeNet recipe (default 3)")
    parser.add_argument("--time-budget", default="30m")
    parser.add_argument("--max-params", type=int, default=20_000)
    parser.add_argument("--no-lenet", action="store_true", help="searches only, without LeNet's rows")
    parser.add_argument("--output", help="keep the stores and reports here (default: a temporary folder)")
    parser.add_argument("extra", nargs="*", help="more nas.search arguments, after --")
    args = parser.parse_args()
    folder = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="nas-beat-lenet-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for dataset in args.dataset:
        epochs = []
        for strategy in args.strategy:
            summaries = [run_search(dataset, strategy, seed, args, folder) for seed in range(args.seeds)]
            epochs += [final["epochs"] for summary in summaries for final in summary["final_training"]
                       if final["trial"] == summary["best"]["trial"]]
            rows.append(search_row(dataset, strategy, summaries))
            print(rows[-1], file=sys.stderr, flush=True)
        if not args.no_lenet:
            # The control: LeNet with the winners' final recipe, for as many epochs as they got on average.
            final_epochs = round(sum(epochs) / len(epochs))
            for recipe, recipe_epochs in (("final", final_epochs), ("lecture", None)):
                runs = [train_lenet(dataset, recipe, recipe_epochs, seed, folder) for seed in range(args.seeds)]
                rows.append(lenet_row(dataset, recipe, runs))
                print(rows[-1], file=sys.stderr, flush=True)
    print_table(["dataset", "model", "test acc", "val acc (trial)", "params", "FLOPs (2xMAC)", "latency ms",
                 "final epochs", "final training s", "trials scored", "wall min"], rows, args.seeds)
    print(f"\nstores and reports: {folder}")


if __name__ == "__main__":
    main()
