"""One cell of the peer benchmark for AutoKeras 3.0.0: search on one data set and seed within a wall-clock budget.

Run by the python of the AutoKeras venv (autokeras_venv.py), never by nas's: this script imports neither nas nor
anything else of the repository, only numpy, AutoKeras, Keras, TensorFlow and the stdlib.

    python autokeras_cell.py --data DATA.npz --seed S --budget-s SECONDS --work DIR --result RESULT.json

DATA.npz holds x_train, y_train, x_validation, y_validation, x_test, y_test (images N×28×28×1 in [0, 1], int labels).
RESULT.json gets the test accuracy of the model AutoKeras exports, the best validation accuracy any trial reached at an
epoch's end, the exported model's parameter count, the number of trials Keras Tuner completed (one cut short by the
clock counts: it was scored on what it trained), and a curve of the best validation accuracy against time.

How the budget is held. AutoKeras has no time budget of its own: it runs max_trials trials, then trains the best
pipeline once more (its "final fit"). Here max_trials is too large to bind, and one Keras callback, handed to fit(),
checks the clock after every training batch against a deadline counted from this script's start (TensorFlow's import
included):
- during the search the deadline is the whole budget (SEARCH_SHARE: the model AutoKeras exports comes from the
  search, not from its final fit). When it passes, the callback stops the running trial (model.stop_training: the
  epoch under way ends at that batch and is still scored on the validation data) and lowers the oracle's max_trials
  to the number of trials it has made, so that Keras Tuner starts no other trial. Keras Tuner deep-copies
  callbacks for each trial, so the oracle and the records of the trials live at module level (SEARCH), not in the
  callback;
- during the final fit (told from a trial by the oracle having no trial under way) the deadline is the whole budget
  too, so the final fit, whose model export_model() does not use, stops at its first batch.
What the clock does not stop: the validation pass of an epoch cut short, building a trial's model, and after the
budget the export, the one evaluation on the test data and the saving of the model (seconds for these small nets).
"""
from __future__ import annotations

import argparse
import json
import time
import types
from pathlib import Path

START = time.monotonic()  # the budget counts from here, before numpy's and TensorFlow's imports (seconds)

# AutoKeras's recipe (https://autokeras.com/tutorial/image_classification/): ImageClassifier(overwrite=True, max_trials=
# ...), then fit(x_train, y_train, validation_data=(x_val, y_val), epochs=10). Its max_trials=1 there is for a quick
# demo; here the clock ends the search instead, so max_trials is set too large to be reached.
EPOCHS = 10
MAX_TRIALS = 10_000
# The whole budget for the search: AutoKeras 3.0.0's export_model() hands back the best trial's checkpoint from the
# search, not the model of its final fit, so time kept for the final fit would be lost to the model it hands back.
SEARCH_SHARE = 1.0

# Shared by every deep copy of the deadline callback: the oracle to stop, the deadlines, each trial's end time (seconds
# since START) and best validation accuracy at an epoch's end, and whether the clock cut the search and the final fit.
SEARCH = types.SimpleNamespace(oracle=None, search_deadline=None, final_deadline=None, trials=[],
                               search_cut=False, final_cut=False)


def parse_args() -> argparse.Namespace:
    """The cell's command line: data, seed, budget in seconds, work folder, where to write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="npz with x/y _train, _validation, _test")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--budget-s", type=float, required=True, help="wall-clock budget from this script's start")
    parser.add_argument("--work", type=Path, required=True, help="AutoKeras's directory: trials, the exported model")
    parser.add_argument("--result", type=Path, required=True, help="the JSON file to write")
    return parser.parse_args()


def deadline_callback(keras):
    """The Keras callback that holds the budget (see the module's docstring) and records each trial's end.

    Built in a function because Keras is imported only once the script is inside its error handling."""

    class Deadline(keras.callbacks.Callback):
        """Stops training at the search's deadline in a trial and at the budget's end in the final fit."""

        def on_train_begin(self, logs=None):
            self.final_fit = not SEARCH.oracle.ongoing_trials  # no trial under way: AutoKeras's final fit
            self.best_validation = None

        def on_train_batch_end(self, batch, logs=None):
            if time.monotonic() < (SEARCH.final_deadline if self.final_fit else SEARCH.search_deadline):
                return
            self.model.stop_training = True
            if self.final_fit:
                SEARCH.final_cut = True
            else:
                SEARCH.search_cut = True
                SEARCH.oracle.max_trials = len(SEARCH.oracle.trials)  # this trial is the last

        def on_epoch_end(self, epoch, logs=None):
            accuracy = (logs or {}).get("val_accuracy")
            if accuracy is not None and (self.best_validation is None or accuracy > self.best_validation):
                self.best_validation = float(accuracy)

        def on_train_end(self, logs=None):
            if not self.final_fit:
                SEARCH.trials.append((time.monotonic() - START, self.best_validation))

    return Deadline()


def curve(trials: list[tuple[float, float | None]]) -> list[list[float]]:
    """[seconds since start at a trial's end, best validation accuracy of the trials so far], one per trial."""
    points, best = [], None
    for seconds, accuracy in trials:
        if accuracy is not None and (best is None or accuracy > best):
            best = accuracy
        if best is not None:
            points.append([round(seconds, 2), best])
    return points


def notes(searched_s: float, fitted_s: float) -> str:
    """One line on how the budget was held and what AutoKeras's final fit did, for the result's "notes"."""
    search = "stopped by the clock at" if SEARCH.search_cut else "ended by itself before"
    final = "was stopped by the clock at the budget's end" if SEARCH.final_cut else f"ran its {EPOCHS} epochs"
    return (f"search {search} {SEARCH_SHARE:.0%} of the budget (last trial ended at {searched_s:.0f} s); AutoKeras's "
            f"final fit of the best pipeline on x_train {final} (ended at {fitted_s:.0f} s), but export_model() in "
            "AutoKeras 3.0.0 gives the best trial's checkpoint from the search, not the final fit's model")


def search(args: argparse.Namespace, data) -> dict:
    """Run AutoKeras within the budget and measure what it exports; the result's fields that depend on the run."""
    import autokeras as ak
    import keras
    import tensorflow as tf
    from autokeras.tuners import task_specific

    keras.utils.set_random_seed(args.seed)  # weights, shuffling and the greedy oracle's numpy draws
    SEARCH.search_deadline = START + SEARCH_SHARE * args.budget_s
    SEARCH.final_deadline = START + args.budget_s

    # No pretrained weights, no downloads. ImageClassifier's search space is ImageBlock with block_type tuned among
    # resnet, xception, efficient and vanilla; the first three are Keras applications whose hyperparameter
    # "pretrained" the search may turn on, and then Keras fetches their ImageNet weights. ImageClassifier's own tuner
    # even starts with such a trial: its third initial trial is EfficientNet-B7 with ImageNet weights (and its
    # second ResNet50 resized to 224×224, hours an epoch on CPU). So this cell takes the customised search space that
    # the same tutorial page teaches: AutoModel on ImageInput -> ImageBlock -> ClassificationHead, with
    # block_type="vanilla" (AutoKeras's ConvBlock, the only image block with no pretrained weights); normalisation,
    # augmentation, the ConvBlock's shape, the head and the optimiser stay tuned as in ImageClassifier. The greedy
    # tuner starts, as ImageClassifier's does, from ImageClassifier's first initial trial (its vanilla ConvNet), less
    # its block_type, which is no longer a hyperparameter.
    first_trial = {name: value for name, value in task_specific.IMAGE_CLASSIFIER[0].items()
                   if name != "image_block_1/block_type"}
    image = ak.ImageInput()
    features = ak.ImageBlock(block_type="vanilla", name="image_block_1")(image)
    output = ak.ClassificationHead(name="classification_head_1")(features)
    classifier = ak.AutoModel(inputs=image, outputs=output, project_name="image_classifier", tuner="greedy",
                              initial_hps=[first_trial], max_trials=MAX_TRIALS, directory=str(args.work),
                              overwrite=True, seed=args.seed)
    SEARCH.oracle = classifier.tuner.oracle
    classifier.fit(data["x_train"], data["y_train"], validation_data=(data["x_validation"], data["y_validation"]),
                   epochs=EPOCHS, callbacks=[deadline_callback(keras)], verbose=2)
    searched_s = SEARCH.trials[-1][0]  # AutoKeras raised already where no trial ended
    fitted_s = time.monotonic() - START

    model = classifier.export_model()
    # One pass on the test data: classifier.evaluate runs AutoKeras's pipeline (label encoding) and the best trial's
    # model, the same checkpoint that export_model() loads.
    test = classifier.evaluate(data["x_test"], data["y_test"], verbose=0, return_dict=True)["accuracy"]
    model_path = args.work / "autokeras_model.keras"
    model.save(model_path)
    completed = [trial for trial in SEARCH.oracle.trials.values() if trial.status == "COMPLETED"]
    validations = [accuracy for _, accuracy in SEARCH.trials if accuracy is not None]
    return {
        "test": float(test),
        "validation": max(validations) if validations else None,
        "params": int(model.count_params()),
        "architectures": len(completed),
        "curve": curve(SEARCH.trials),
        "model_path": str(model_path),
        "notes": notes(searched_s, fitted_s),
        "versions": {"autokeras": ak.__version__, "keras": keras.__version__, "tensorflow": tf.__version__},
    }


def main() -> None:
    """Run the cell and write RESULT.json; where AutoKeras raises, the error goes there and the exit is still 0."""
    args = parse_args()
    import numpy as np

    args.work.mkdir(parents=True, exist_ok=True)
    result = {"contender": "autokeras", "seed": args.seed, "budget_s": args.budget_s, "metric": "accuracy",
              "test": None, "validation": None, "params": None, "architectures": None, "curve": None,
              "model_path": None, "error": None, "notes": None, "versions": None,
              "recipe": {"epochs": EPOCHS, "max_trials": MAX_TRIALS, "search_deadline_s": SEARCH_SHARE * args.budget_s,
                         "final_deadline_s": args.budget_s}}
    try:
        with np.load(args.data) as data:
            result.update(search(args, data))
    except Exception as error:  # the caller makes a table row from the error
        result["error"] = f"{type(error).__name__}: {' '.join(str(error).split())}"
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({key: result[key] for key in ("test", "validation", "params", "architectures", "error")}))


if __name__ == "__main__":
    main()
