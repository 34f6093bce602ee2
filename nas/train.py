"""`python -m nas.train`: train one architecture on the full training set and measure it on the test set.

The architecture is a JSON file (`{"space": ..., "arch": {...}}`), a stored trial (`--trial RUN:N`) or one of
the seed lecture's hand-made models (`--reference perceptron|mlp|lenet`, with the lecture's recipe).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nas import cli_common as cli
from nas.config import VALIDATION_FRACTION, SearchConfig
from nas.datasets import DATASETS
from nas.estimator import TrainingRecipe
from nas.references import REFERENCES
from search_spaces import Architecture, InvalidArchitectureError, get_space

PROG = "nas.train"
# An architecture file trains like the lecture's CNN: Adam, batch 128, 20 epochs (`--epochs` changes it).
ARCH_FILE_RECIPE = TrainingRecipe(optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=20)


@dataclass(frozen=True)
class TrainingJob:
    """What to train, how, and on which data."""

    arch: Architecture
    recipe: TrainingRecipe
    dataset: str = "mnist"
    data_path: str | None = None
    trial: str | None = None  # RUN:N when it came from the store


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("arch_file", nargs="?", metavar="ARCH.json", help="architecture JSON file")
    source.add_argument("--trial", metavar="RUN:N", help="a stored trial: run name and trial number")
    source.add_argument("--reference", choices=sorted(REFERENCES), help="one of the seed lecture's models")
    parser.add_argument("--dataset", choices=DATASETS, help="default: the run's dataset, else mnist")
    parser.add_argument("--data", metavar="PATH.npz", help="any .npz in the keras layout")
    parser.add_argument("--epochs", type=cli.positive_int,
                        help="default: the reference's recipe, the run's final training, or 20 for ARCH.json")
    parser.add_argument("--train-subset", type=cli.positive_int, metavar="N", help="train on N examples only")
    parser.add_argument("--save", metavar="FILE.keras", help="save the trained model (Keras format)")
    parser.add_argument("--storage", metavar="URL", help="result store holding --trial")
    parser.add_argument("--output", default=cli.DEFAULT_OUTPUT, metavar="DIR", help="folder of the default store")
    parser.add_argument("--json", action="store_true", help="print the model's figures as JSON on stdout")
    return parser


def resolve_job(args) -> TrainingJob:
    if args.reference:
        reference = REFERENCES[args.reference]
        job = TrainingJob(reference.arch, reference.recipe)
    elif args.trial:
        job = _stored_trial(args)
    else:
        job = TrainingJob(_arch_from_file(args.arch_file), ARCH_FILE_RECIPE)
    if args.epochs:
        job = dataclasses.replace(job, recipe=dataclasses.replace(job.recipe, epochs=args.epochs))
    if args.dataset or args.data:
        job = dataclasses.replace(job, dataset=args.dataset or job.dataset, data_path=args.data)
    return job


def _arch_from_file(path: str) -> Architecture:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise cli.UsageError(f"Cannot read architecture file {path!r} ({error.strerror}). Expected a readable "
                             "JSON file") from None
    arch = Architecture.from_json(text)
    try:
        return get_space(arch.space).validate(arch)
    except ValueError as error:  # unknown space or out-of-space values
        raise cli.UsageError(f"{path}: {error}") from None


def _stored_trial(args) -> TrainingJob:
    from results import ResultStore

    run_name, separator, number = args.trial.rpartition(":")
    if not separator or not run_name or not number.isdigit():
        raise cli.UsageError(f"Expected --trial RUN:N (a run name and a trial number). Received: {args.trial!r}")
    with ResultStore(cli.storage_url(args.storage, args.output)) as store:
        run, trial = store.get_run(run_name), store.get_trial(run_name, int(number))
    if run is None or trial is None:
        raise cli.UsageError(f"No trial {args.trial!r} in the store. Expected a RUN:N listed by nas.leaderboard")
    config = SearchConfig.from_dict(run.config)
    return TrainingJob(get_space(run.space).validate(trial.arch), config.final_recipe, config.dataset,
                       config.data_path, args.trial)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_libraries()
    if args.save and not args.save.endswith(".keras"):
        cli.fail(PROG, f"Expected --save FILE.keras (Keras' own format). Received: {args.save!r}")
    if args.save:
        _check_writable(args.save)
    from nas.datasets import load_dataset
    from results import StoreError

    try:
        job = resolve_job(args)
        dataset = load_dataset(job.dataset, job.data_path, validation_size=VALIDATION_FRACTION)
        if args.train_subset:
            dataset = dataset.training_subset(args.train_subset, seed=0)
    except (cli.UsageError, StoreError, InvalidArchitectureError) as error:
        cli.fail(PROG, str(error))
    from nas.estimator import ArchitectureDoesNotFit, TrialFailed

    try:
        figures = train_and_test(job, dataset, args.save)
    except ArchitectureDoesNotFit as error:
        cli.fail(PROG, f"{error}. Expected an architecture that fits {dataset.name}'s {dataset.input_shape} images")
    except TrialFailed as error:
        cli.fail(PROG, f"training failed: {error}", code=cli.EXIT_SEARCH_FAILED)
    if args.json:
        print(json.dumps(figures))
    return cli.EXIT_OK


def train_and_test(job: TrainingJob, dataset, save: str | None) -> dict:
    """Train on training + validation data, then evaluate once on the test set; progress goes to stderr."""
    import numpy as np

    from nas.estimator import build_model, evaluate_accuracy, measure_cost, train
    from nas.progress import percent

    space = get_space(job.arch.space)
    model = build_model(space, job.arch, dataset.input_shape, dataset.num_classes)
    cost = measure_cost(model, dataset.input_shape)
    print(f"training {job.trial or job.arch.key} on {dataset.name}: {cost.params:,} params, "
          f"{job.recipe.epochs} epochs of {job.recipe.optimizer}", file=sys.stderr)
    x_train = np.concatenate([dataset.x_train, dataset.x_validation])
    y_train = np.concatenate([dataset.y_train, dataset.y_validation])
    history = train(model, x_train, y_train, job.recipe,
                    on_epoch_end=lambda epoch: print(f"  epoch {epoch.epoch}/{job.recipe.epochs} "
                                                     f"({epoch.train_seconds:.0f}s)", file=sys.stderr))
    test_accuracy = evaluate_accuracy(model, dataset.x_test, dataset.y_test)
    if save:
        model.save(save)
        print(f"saved {save}", file=sys.stderr)
    print(f"test accuracy {percent(test_accuracy)}, {cost.params:,} params, {cost.flops:,} FLOPs, "
          f"{cost.latency_ms:.3f} ms", file=sys.stderr)
    return {"trial": job.trial, "arch": job.arch.key, "space": job.arch.space, "dataset": dataset.name,
            "validation_accuracy": None, "test_accuracy": test_accuracy, "params": cost.params,
            "flops": cost.flops, "latency_ms": cost.latency_ms, "train_seconds": history[-1].train_seconds,
            "epochs": job.recipe.epochs}


def _check_writable(path: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        cli.fail(PROG, f"Cannot write --save {path!r}: folder {str(folder)!r} does not exist or is not writable")


if __name__ == "__main__":
    raise SystemExit(main())
