"""How well cheap trials rank small networks: the trial recipe's fidelity against a longer reference training.

    python benchmarks/trial_fidelity.py                               # Fashion-MNIST, 8 networks under 20k params
    python benchmarks/trial_fidelity.py --dataset mnist --data ../shared/data/mnist.npz --networks 6

A search only ranks architectures by their trials, so a trial recipe is as good as the order it puts networks in.
This samples `--networks` random cnn architectures of at most `--max-params` parameters (the networks a search
under `--max-params` proposes), trains each with every candidate trial recipe below and with a reference recipe
(`--reference-epochs` on the whole training split with shifted images; Adam 1e-3 on batches of 128, cosine
schedule), all with the same initial weights, and reports for each trial recipe:
- Spearman's rank correlation between its validation accuracies and the reference's (scipy.stats.spearmanr);
- the regret of its pick: the reference accuracy of the best network minus that of the network it ranks first;
- its mean training seconds per network (one thread, like a trial on this 2-core machine).

Everything is validation accuracy: nothing here looks at the test set. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np  # noqa: E402

from nas.data.sources import VALIDATION_FRACTION, load_data  # noqa: E402
from nas.estimator.recipe import Augment, Optimizer, Schedule  # noqa: E402
from nas.estimator.evaluator import build_model, prepare_tensorflow  # noqa: E402
from nas.settings.search_config import SearchConfig  # noqa: E402
from nas.estimator.recipe import Recipe  # noqa: E402
from nas.estimator.training import train  # noqa: E402
from search_spaces import get_space  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Fidelity:
    name: str
    recipe: Recipe
    images: int | None  # training images (a stratified subset); None: the whole training split


LABELS = "ABCDEFGHIJ"


def candidate_fidelities() -> list[Fidelity]:
    base = Recipe(optimizer=Optimizer.ADAM, learning_rate=1e-3, batch_size=128, epochs=2, schedule=Schedule.COSINE)
    return [
        Fidelity("2 ep x 5k, lr 1e-3, batch 128", base, 5000),
        Fidelity("2 ep x 5k, lr 3e-3", dataclasses.replace(base, learning_rate=3e-3), 5000),
        Fidelity("2 ep x 5k, lr 1e-3, batch 32", dataclasses.replace(base, batch_size=32), 5000),
        Fidelity("2 ep x 5k, lr 3e-3, batch 32", dataclasses.replace(base, batch_size=32, learning_rate=3e-3), 5000),
        Fidelity("1 ep x 10k, lr 3e-3, batch 32",
                 dataclasses.replace(base, batch_size=32, learning_rate=3e-3, epochs=1), 10000),
        Fidelity("2 ep x 10k, lr 3e-3", dataclasses.replace(base, learning_rate=3e-3), 10000),
    ]


def is_default(fidelity: Fidelity) -> bool:
    default = SearchConfig()
    return fidelity.recipe == default.recipe(final=False) and fidelity.images == default.train_subset


def sample_small_networks(space, input_shape, num_outputs, task, count: int, max_params: int, seed: int):
    """`count` distinct random architectures of at most `max_params` parameters (rejection sampling)."""
    rng = np.random.default_rng(seed)
    chosen, seen = [], set()
    while len(chosen) < count:
        arch = space.sample(rng)
        if arch.key in seen:
            continue
        seen.add(arch.key)
        try:
            params = build_model(space, arch, input_shape, num_outputs, task).count_params()
        except Exception:  # an architecture that does not fit the input is not a candidate
            continue
        if params <= max_params:
            chosen.append((arch, params))
    return chosen


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr  # scipy does the ranking, ties included

    return float(spearmanr(a, b).statistic)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--data", help="a .npz in the keras layout (wins over --dataset)")
    parser.add_argument("--networks", type=int, default=8)
    parser.add_argument("--max-params", type=int, default=20000)
    parser.add_argument("--reference-epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (a trial's share: 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    prepare_tensorflow(args.threads)
    # --data wins over --dataset (nas.data.sources takes one or the other)
    dataset = load_data(data=args.data, dataset=None if args.data else args.dataset, seed=args.seed,
                        validation_fraction=VALIDATION_FRACTION)
    space = get_space("cnn")
    networks = sample_small_networks(space, dataset.input_shape, dataset.num_outputs, dataset.task, args.networks,
                                     args.max_params, args.seed)
    reference = Fidelity(f"reference: {args.reference_epochs} ep x all, lr 1e-3, cosine, shift",
                         Recipe(epochs=args.reference_epochs, schedule=Schedule.COSINE, augment=Augment.SHIFT), None)
    fidelities = candidate_fidelities()
    accuracy: dict[str, list[float]] = {f.name: [] for f in [*fidelities, reference]}
    seconds: dict[str, list[float]] = {f.name: [] for f in [*fidelities, reference]}
    held_out = (dataset.x_validation, dataset.y_validation)
    for number, (arch, params) in enumerate(networks, 1):
        for fidelity in [*fidelities, reference]:
            part = dataset.training_subset(fidelity.images, args.seed) if fidelity.images else dataset
            model = build_model(space, arch, dataset.input_shape, dataset.num_outputs, dataset.task, seed=args.seed)
            start = time.perf_counter()
            results = train(model, part.x_train, part.y_train, fidelity.recipe, dataset.task, held_out=held_out,
                            seed=args.seed)
            seconds[fidelity.name].append(time.perf_counter() - start)
            accuracy[fidelity.name].append(results[-1].accuracy)
        print(f"network {number}/{len(networks)}: {params:,} params, reference {accuracy[reference.name][-1]:.2%}, "
              f"A {accuracy[fidelities[0].name][-1]:.2%}  {arch.key}", file=sys.stderr, flush=True)

    truth = accuracy[reference.name]
    best = max(truth)
    print(f"\n{len(networks)} random cnn networks of at most {args.max_params:,} parameters on {dataset.name}, "
          f"{args.threads} thread(s); validation accuracy throughout.\n")
    print("| | trial recipe | Spearman vs reference | regret of its pick | mean val acc | mean s per network |")
    print("|---|---|---|---|---|---|")
    for label, fidelity in zip(LABELS, fidelities):
        scores = accuracy[fidelity.name]
        pick = int(np.argmax(scores))
        marks = " (nas.search's default)" if is_default(fidelity) else ""
        print(f"| {label} | {fidelity.name}{marks} | {spearman(scores, truth):.2f} | {best - truth[pick]:.2%} | "
              f"{statistics.fmean(scores):.2%} | {statistics.fmean(seconds[fidelity.name]):.1f} |")
    print(f"| R | {reference.name} | 1.00 | 0.00% | {statistics.fmean(truth):.2%} | "
          f"{statistics.fmean(seconds[reference.name]):.1f} |")
    print("\n| network | params | " + " | ".join(LABELS[:len(fidelities)]) + " | R |")
    print("|---|---|" + "---|" * (len(fidelities) + 1))
    for index, (arch, params) in enumerate(networks):
        cells = " | ".join(f"{accuracy[f.name][index]:.2%}" for f in [*fidelities, reference])
        print(f"| {arch.key} | {params:,} | {cells} |")


if __name__ == "__main__":
    main()
