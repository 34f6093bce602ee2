"""Tabular classification: search a dense network of your own for scikit-learn's breast cancer data.

What it shows:
- a SearchSpace of your own: Int ranges (one on a log scale), Float ranges, Choices, and a builder;
- searching the training recipe with the topology: values named `learning_rate` and `batch_size` set how each
  trial trains;
- the `bayes` strategy (Optuna's TPE), with held-out test data that only the final training of the winner sees;
- the leaderboard as a pandas DataFrame, and the winner saved as a .keras file that Keras loads back by itself.

Run it from the repository root:

    python examples/tabular_classification.py

NAS_EXAMPLES_QUICK=1 shrinks the budget to a smoke test (seconds of training); NAS_EXAMPLES_OUTPUT sets the
output folder (default: nas-runs under the current folder).

Data: the Breast Cancer Wisconsin (Diagnostic) data set (Street, Wolberg and Mangasarian, 1993; UCI Machine
Learning Repository), as shipped with scikit-learn (sklearn.datasets.load_breast_cancer).
"""
import os
import time

import keras
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import nas
from search_spaces import Choice, Float, Int, SearchSpace

QUICK = os.environ.get("NAS_EXAMPLES_QUICK") == "1"
OUTPUT = os.environ.get("NAS_EXAMPLES_OUTPUT", "nas-runs")


def build(arch, input_shape, num_outputs):
    """The model of one architecture: `layers` dense layers of `units` units, each followed by dropout.

    nas calls it with each trial's values; it returns an uncompiled model, which nas compiles with its recipe
    (cross-entropy, and this trial's learning rate)."""
    inputs = keras.Input(shape=input_shape)
    hidden = inputs
    for _ in range(arch["layers"]):
        hidden = keras.layers.Dense(arch["units"], activation=arch["activation"])(hidden)
        hidden = keras.layers.Dropout(arch["dropout"])(hidden)
    # A softmax at the end: the saved model's predict() returns class probabilities.
    outputs = keras.layers.Dense(num_outputs, activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


SPACE = SearchSpace("breast-cancer-mlp", [
    Int("layers", 1, 3),
    Int("units", 8, 128, log=True),  # widths spread on a log scale: 8-16 is as likely as 64-128
    Float("dropout", 0.0, 0.5),
    Choice("activation", ["relu", "tanh", "elu"]),
    # How each trial trains: nas reads these names as the trial's learning rate and batch size.
    Float("learning_rate", 1e-4, 1e-2, log=True),
    Choice("batch_size", [16, 32, 64]),
], builder=build)


def main():
    features, labels = load_breast_cancer(return_X_y=True)
    # A test split the search never sees: only the final training of the winner is tested on it.
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.2, stratify=labels,
                                                        random_state=0)
    # nas uses non-image inputs as given, so the features are standardised here, with statistics of the training
    # split only. The model nas returns expects standardised inputs: keep the scaler with it.
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    result = nas.search(
        SPACE,
        strategy="bayes",
        data=(x_train, y_train),  # integer labels: a classification; 10% becomes the validation split
        test_data=(x_test, y_test),
        trials=3 if QUICK else 20,
        epochs=1 if QUICK else 20,  # epochs per trial: a trial is cheap on 455 examples
        final_epochs=1 if QUICK else 40,  # the winner's final training, on training + validation data
        top_k=1,
        output=OUTPUT,
        name=f"breast-cancer-{time.strftime('%Y%m%d-%H%M%S')}",  # a new run each time
    )

    board = result.leaderboard()
    print(board[["trial", "status", "validation_accuracy", "test_accuracy", "params", "arch"]].head(5)
          .to_string(index=False))

    best = result.best
    print(f"best trial {best['trial']}: {best['values']}")
    print(f"validation accuracy {best['validation_accuracy']:.4f}, test accuracy {best['test_accuracy']:.4f}")

    # The winner is a plain .keras file: Keras loads it with no nas code and no custom objects (safe_mode=True).
    model = keras.saving.load_model(best["model_path"], safe_mode=True)
    probabilities = model.predict(x_test[:5], verbose=0)
    print(f"model: {best['model_path']}")
    print("predicted classes of 5 test rows:", np.argmax(probabilities, axis=1).tolist(),
          "true:", y_test[:5].tolist())


if __name__ == "__main__":
    main()
