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
from nas.estimator import AUGMENTATIONS, SCHEDULES, TrainingRecipe
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
    parser.add_argument("--lr-schedule", choices=SCHEDULES, help="default: the reference's or run's recipe; "
                                                                  "constant for ARCH.json")
    parser.add_argument("--augment", choices=AUGMENTATIONS, help="default: the reference's or run's recipe; "
                                                                 "none for ARCH.json")
    parser.add_argument("--save", metavar="FILE.keras", help="save the trained model (Keras format)")
    parser.add_argument("--tflite", metavar="FILE.tflite",
                        help="also export the trained model for TensorFlow Lite (float32), checked against Keras")
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
    changes = {"epochs": args.epochs, "schedule": args.lr_schedule, "augment": args.augment}
    changes = {name: value for name, value in changes.items() if value is not None}
    if changes:
        job = dataclasses.replace(job, recipe=dataclasses.replace(job.recipe, **changes))
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
    recipe = config.final_recipe
    if trial.final_epochs:  # the final training ran: retrain as it did, with the epochs it fitted to its budget
        recipe = dataclasses.replace(recipe, epochs=trial.final_epochs)
    return TrainingJob(get_space(run.space).validate(trial.arch), recipe, config.dataset, config.data_path,
                       args.trial)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_libraries()
    if args.save and not args.save.endswith(".keras"):
        cli.fail(PROG, f"Expected --save FILE.keras (Keras' own format). Received: {args.save!r}")
    if args.tflite and not args.tflite.endswith(".tflite"):
        cli.fail(PROG, f"Expected --tflite FILE.tflite (a TensorFlow Lite flatbuffer). Received: {args.tflite!r}")
    for option, path in (("--save", args.save), ("--tflite", args.tflite)):
        if path:
            _check_writable(option, path)
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
        figures = train_and_test(job, dataset, args.save, args.tflite)
    except TFLiteExportFailed as error:  # the model is not the user's input: exit 1, the .keras file is kept
        cli.fail(PROG, f"TFLite export failed: {error}", code=cli.EXIT_SEARCH_FAILED)
    except ArchitectureDoesNotFit as error:
        cli.fail(PROG, f"{error}. Expected an architecture that fits {dataset.name}'s {dataset.input_shape} images")
    except TrialFailed as error:
        cli.fail(PROG, f"training failed: {error}", code=cli.EXIT_SEARCH_FAILED)
    if args.json:
        print(json.dumps(figures))
    return cli.EXIT_OK


def train_and_test(job: TrainingJob, dataset, save: str | None, tflite: str | None = None) -> dict:
    """Train on training + validation data, then evaluate once on the test set; progress goes to stderr."""
    import numpy as np

    from nas.estimator import build_model, evaluate_accuracy, measure_cost, train
    from nas.progress import percent

    space = get_space(job.arch.space)
    model = build_model(space, job.arch, dataset.input_shape, dataset.num_classes)
    cost = measure_cost(model, dataset.input_shape)
    print(f"training {job.trial or job.arch.key} on {dataset.name}: {cost.params:,} params, "
          f"{job.recipe.epochs} epochs of {job.recipe.optimizer}, {job.recipe.schedule} learning rate, "
          f"augmentation: {job.recipe.augment}", file=sys.stderr)
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
          f"{cost.latency_ms:.3f} ms (batch {cost.latency_batch_size}: {cost.latency_batch_ms:.3f} ms; "
          f"{cost.latency_device}, {cost.latency_threads} threads)", file=sys.stderr)
    if tflite:
        export_tflite(model, tflite, dataset.x_test[:TFLITE_CHECK_IMAGES])
        print(f"exported {tflite} (TensorFlow Lite; predicts the Keras model's classes on "
              f"{min(TFLITE_CHECK_IMAGES, len(dataset.x_test))} test images)", file=sys.stderr)
    return {"trial": job.trial, "arch": job.arch.key, "space": job.arch.space, "dataset": dataset.name,
            "validation_accuracy": None, "test_accuracy": test_accuracy, **cost.metrics(),
            "train_seconds": history[-1].train_seconds, "epochs": job.recipe.epochs, "tflite": tflite}


class TFLiteExportFailed(Exception):
    """The trained model could not be converted to TensorFlow Lite, or the converted one disagrees with it."""


TFLITE_CHECK_IMAGES = 16


def export_tflite(model, path: str, images) -> None:
    """Convert `model` to a float32 TensorFlow Lite flatbuffer at `path`, then check that TensorFlow Lite's
    interpreter loads it and predicts the same classes as the Keras model on `images`.

    Keras 3.15 with TensorFlow 2.21: `TFLiteConverter.from_keras_model` works (it exports the model as a
    SavedModel in a temporary folder and converts that; Keras prints the export's endpoints on stdout, which is
    kept off ours). `from_concrete_functions` on a `tf.function` of the model converts without an error but
    leaves Keras 3's variables out: a model without weights (2.7 KB for the perceptron's 31 KB) that predicts
    NaN. The check after conversion refuses any such model, and a refused file is removed.
    """
    import contextlib
    import io

    import tensorflow as tf

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as error:  # the converter's errors are many and long: their first line says which
        raise TFLiteExportFailed(_first_line(error)) from error
    try:
        Path(path).write_bytes(flatbuffer)
    except OSError as error:
        raise TFLiteExportFailed(f"cannot write {path!r} ({error.strerror})") from error
    try:
        _check_tflite(model, path, images)
    except TFLiteExportFailed:
        Path(path).unlink(missing_ok=True)  # no file that looks usable and is not
        raise


def _check_tflite(model, path: str, images) -> None:
    import numpy as np

    images = np.asarray(images, dtype=np.float32)
    try:
        interpreter = _tflite_interpreter(path)
        [inputs], [outputs] = interpreter.get_input_details(), interpreter.get_output_details()
        interpreter.resize_tensor_input(inputs["index"], images.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inputs["index"], images)
        interpreter.invoke()
        lite = interpreter.get_tensor(outputs["index"])
    except Exception as error:
        raise TFLiteExportFailed(f"{path} does not run in TensorFlow Lite's interpreter: "
                                 f"{_first_line(error)}") from error
    keras_outputs = np.asarray(model(images, training=False))
    if lite.shape != keras_outputs.shape:
        raise TFLiteExportFailed(f"{path} gives outputs of shape {lite.shape}; the Keras model {keras_outputs.shape}")
    if not np.all(np.isfinite(lite)):
        raise TFLiteExportFailed(f"{path} gives NaN or infinite outputs")
    lite_classes, keras_classes = lite.argmax(axis=-1), keras_outputs.argmax(axis=-1)
    rows = np.arange(len(images))
    # A class that differs where Keras' two candidates are all but tied is rounding, not a wrong conversion.
    tied = np.abs(keras_outputs[rows, lite_classes] - keras_outputs[rows, keras_classes]) <= 1e-5
    wrong = int(np.sum((lite_classes != keras_classes) & ~tied))
    if wrong:
        raise TFLiteExportFailed(f"{path} predicts another class than the Keras model on {wrong} of "
                                 f"{len(images)} test images")


def _tflite_interpreter(path: str):
    """LiteRT's interpreter where installed, else TensorFlow's own (deprecated in favour of LiteRT)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated ... use the LiteRT interpreter"
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_path=path)
    return Interpreter(model_path=path)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _check_writable(option: str, path: str) -> None:
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        cli.fail(PROG, f"Cannot write {option} {path!r}: folder {str(folder)!r} does not exist or is not writable")


if __name__ == "__main__":
    raise SystemExit(main())
