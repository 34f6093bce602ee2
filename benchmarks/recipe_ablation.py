"""What each lever of the final training's recipe buys: the cosine schedule, shifted images, Adam's step and batch.

    python benchmarks/recipe_ablation.py                        # MNIST's searched 19,170-param network, 8 epochs
    python benchmarks/recipe_ablation.py --dataset fashion_mnist --epochs 8 --arch "blocks=1,..."

Trains one architecture (a cnn key, as the leaderboards print it) on the whole training split with each recipe
below, from the same initial weights: constant or cosine learning rate, with or without random shifts (Keras'
RandomTranslation, nas.estimator.training), with Adam at 1e-3 on batches of 128 or at 3e-3 on batches of 32. Reports
validation accuracy after the last epoch, the best epoch's, and the training time: the levers are chosen on
validation, never on test. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from nas.data.sources import VALIDATION_FRACTION, load_data  # noqa: E402
from nas.estimator.recipe import Augment, Schedule  # noqa: E402
from nas.estimator.evaluator import build_model, prepare_tensorflow  # noqa: E402
from nas.estimator.recipe import Recipe  # noqa: E402
from nas.estimator.training import train  # noqa: E402
from search_spaces import get_space  # noqa: E402

# The network the 30-minute evolution search found on MNIST (README, "Beating the lecture's CNN in 30 minutes").
MNIST_SEARCHED = ("blocks=3,filters_1=8,kernel_1=3,convs_1=1,filters_2=20,kernel_2=3,convs_2=1,filters_3=64,"
                  "kernel_3=3,convs_3=1,pooling=avg,batch_norm=true,activation=swish,head=flatten,dense_units=0,"
                  "dropout=0.0")
# (schedule, augmentation, learning rate, batch size)
RECIPES = [("constant", "none", 1e-3, 128), ("cosine", "none", 1e-3, 128), ("constant", "shift", 1e-3, 128),
           ("cosine", "shift", 1e-3, 128), ("cosine", "shift", 3e-3, 32)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data", help="a .npz in the keras layout (wins over --dataset)")
    parser.add_argument("--arch", default=MNIST_SEARCHED, help="a cnn architecture key")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the final training's: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipes", type=int, nargs="+", help="which rows of RECIPES to run (0-based; default all)")
    args = parser.parse_args(argv)

    prepare_tensorflow(args.threads)
    # --data wins over --dataset (nas.data.sources takes one or the other)
    dataset = load_data(data=args.data, dataset=None if args.data else args.dataset, seed=args.seed,
                        validation_fraction=VALIDATION_FRACTION)
    space = get_space("cnn")
    arch = space.from_key(args.arch)
    rows = []
    chosen = [RECIPES[index] for index in args.recipes] if args.recipes else RECIPES
    for schedule, augment, learning_rate, batch_size in chosen:
        recipe = Recipe(learning_rate=learning_rate, batch_size=batch_size, epochs=args.epochs,
                        schedule=Schedule(schedule), augment=Augment(augment))
        model = build_model(space, arch, dataset.input_shape, dataset.num_outputs, dataset.task, seed=args.seed)
        start = time.perf_counter()
        epochs = train(model, dataset.x_train, dataset.y_train, recipe, dataset.task,
                       held_out=(dataset.x_validation, dataset.y_validation), seed=args.seed)
        rows.append((schedule, augment, learning_rate, batch_size, epochs[-1].accuracy, max(e.accuracy for e in epochs),
                     time.perf_counter() - start))
        print(f"{schedule} + {augment}, {learning_rate:g} x {batch_size}: {epochs[-1].accuracy:.2%}", file=sys.stderr,
              flush=True)

    print(f"\n{arch.key} ({model.count_params():,} params) on {dataset.name}, {args.epochs} epochs on "
          f"{len(dataset.y_train):,} images, {args.threads} thread(s).\n")
    print("| schedule | augmentation | Adam learning rate | batch | val acc, last epoch | val acc, best epoch "
          "| train s |")
    print("|---|---|---|---|---|---|---|")
    for schedule, augment, learning_rate, batch_size, last, best, seconds in rows:
        print(f"| {schedule} | {augment} | {learning_rate:g} | {batch_size} | {last:.2%} | {best:.2%} "
              f"| {seconds:.0f} |")


if __name__ == "__main__":
    main()
