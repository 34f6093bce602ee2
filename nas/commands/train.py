"""`python -m nas.train`: one architecture's trained model and its figures: a stored trial's saved model, or an
architecture trained on the full training set and tested once.

The architecture is a stored trial (`--trial RUN:N`, its saved model; `--retrain` trains it again as the search's
final training did), a JSON file (`{"space": ..., "arch": {...}}`) or one of the seed lecture's hand-made models
(`--reference perceptron|mlp|lenet`, with the lecture's recipe). In Python, `nas.train(...)` is the same
(nas/train.py) and returns the Keras model with the figures.
"""
from __future__ import annotations

import json
import sys
from typing import Sequence

from nas.commands import cli
from nas.data.datasets import DATASETS
from nas.estimator.lecture_models import REFERENCES
from nas.estimator.recipe import Augment, Schedule
from nas.settings import checks
from nas.settings.checks import values
from nas.settings.search_config import DEFAULT_OUTPUT
from nas.train import train

PROG = "nas.train"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog=PROG, description="Load or train one architecture, and report its figures.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("arch_file", nargs="?", metavar="ARCH.json", help="architecture JSON file")
    source.add_argument("--trial", metavar="RUN:N", help="a stored trial: run name and trial number")
    source.add_argument("--reference", choices=sorted(REFERENCES), help="one of the seed lecture's models")
    parser.add_argument("--retrain", action="store_true",
                        help="with --trial: train it again, with the final training's recipe, epochs and seed")
    parser.add_argument("--dataset", choices=DATASETS, help="default: the run's data, else mnist")
    parser.add_argument("--data", metavar="PATH.npz|module:function", help="your data, as nas.search takes it")
    parser.add_argument("--epochs", type=cli.flag_type(checks.integer(1)),
                        help="default: the reference's recipe, the run's final training, or 20 for ARCH.json")
    parser.add_argument("--train-subset", type=cli.flag_type(checks.integer(1)), metavar="N",
                        help="train on N examples only")
    parser.add_argument("--lr-schedule", choices=values(Schedule), help="default: the reference's or run's recipe; "
                                                                        "constant for ARCH.json")
    parser.add_argument("--augment", choices=values(Augment), help="default: the reference's or run's recipe; "
                                                                   "none for ARCH.json")
    parser.add_argument("--learning-rate", type=cli.flag_type(checks.positive_number), metavar="LR",
                        help="default: the reference's or run's recipe; 1e-3 for ARCH.json")
    parser.add_argument("--batch-size", type=cli.flag_type(checks.integer(1)), metavar="N",
                        help="default: the reference's or run's recipe; 128 for ARCH.json")
    parser.add_argument("--seed", type=cli.flag_type(checks.integer(0)),
                        help="initial weights, shuffling and shifts (default: the run's seed, else 0)")
    parser.add_argument("--save", metavar="FILE.keras", help="save the model (Keras format)")
    parser.add_argument("--tflite", metavar="FILE.tflite",
                        help="also export the model for TensorFlow Lite (float32), checked against Keras")
    parser.add_argument("--storage", metavar="URL", help="result store holding --trial")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR", help="folder of the default store")
    parser.add_argument("--json", action="store_true", help="print the model's figures as JSON on stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_libraries()
    from nas.runner.progress import percent

    def epoch_line(result) -> None:
        print(f"  epoch {result.epoch} ({result.train_seconds:.0f}s)", file=sys.stderr)

    def body() -> int:
        from nas.errors import TrialFailed
        from nas.estimator.evaluator import ArchitectureDoesNotFit
        from nas.estimator.tflite import TFLiteExportFailed

        try:
            trained = train(
                args.arch_file, trial=args.trial, reference=args.reference, retrain=args.retrain,
                dataset=args.dataset, data=args.data, epochs=args.epochs, train_subset=args.train_subset,
                lr_schedule=args.lr_schedule, augment=args.augment, learning_rate=args.learning_rate,
                batch_size=args.batch_size, seed=args.seed, save=args.save, tflite=args.tflite,
                storage=args.storage, output=args.output, on_epoch_end=epoch_line)
        except TFLiteExportFailed as error:  # the model is not the user's input: exit 1, the .keras file is kept
            cli.fail(PROG, f"TFLite export failed: {error}", code=cli.EXIT_FAILED)
        except ArchitectureDoesNotFit as error:  # the architecture the user gave does not fit the data they gave
            cli.fail(PROG, f"{error}. Expected an architecture that fits the data's inputs")
        except TrialFailed as error:
            cli.fail(PROG, f"training failed: {error}", code=cli.EXIT_FAILED)
        figures = trained.figures
        how = "retrained" if figures["retrained"] else ("loaded" if figures["trial"] else "trained")
        tested = (f"test accuracy {percent(figures['test_accuracy'])}" if figures["test_accuracy"] is not None
                  else f"test {figures.get('test_metrics') or 'not measured: no test data'}")
        print(f"{how} {figures['trial'] or figures['arch']} on {figures['dataset']}: {tested}, "
              f"{figures['params']:,} params, {figures['flops']:,} FLOPs (2xMAC), {figures['latency_ms']:.3f} ms "
              f"(batch {figures['latency_batch_size']}: {figures['latency_batch_ms']:.3f} ms; "
              f"{figures['latency_device']}, {figures['latency_threads']} threads)", file=sys.stderr)
        for option, path in (("saved", args.save), ("exported (TensorFlow Lite, checked against Keras)",
                                                    args.tflite)):
            if path:
                print(f"{option} {path}", file=sys.stderr)
        if args.json:
            print(json.dumps(figures))
        return cli.EXIT_OK

    return cli.run_command(PROG, body, lambda: "interrupted; nothing was saved",
                           lambda: "then train again; nothing was saved")



if __name__ == "__main__":
    raise SystemExit(main())
