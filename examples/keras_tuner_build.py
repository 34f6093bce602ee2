"""A keras-tuner `build(hp)` function, searched by nas's reinforcement-learning controller.

What it shows:
- a build function written for keras-tuner (hp.Int, hp.Choice, hp.Float with sampling="log", a parameter that
  exists only under hp.conditional_scope, and a model compiled inside build) searched unchanged by nas;
- the space nas discovers from it (`from_hypermodel(build).parameters`) before the search;
- the `rl` strategy: an LSTM controller trained with REINFORCE (Zoph and Le, 2017) proposes each architecture.

Run it from the repository root:

    python examples/keras_tuner_build.py

NAS_EXAMPLES_QUICK=1 shrinks the budget to a smoke test (seconds of training); NAS_EXAMPLES_OUTPUT sets the
output folder (default: nas-runs under the current folder).

Data: the optical recognition of handwritten digits data set (Alpaydin and Kaynak, 1998; UCI Machine Learning
Repository), as shipped with scikit-learn (sklearn.datasets.load_digits), read here as 64 features per image.
"""
import os
import time

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nas
from search_spaces.hypermodel import from_hypermodel

QUICK = os.environ.get("NAS_EXAMPLES_QUICK") == "1"
OUTPUT = os.environ.get("NAS_EXAMPLES_OUTPUT", "nas-runs")
FEATURES, CLASSES = 64, 10  # a keras-tuner build function knows its input and output sizes itself


def build(hp):
    """A dense network for 8x8 digits, in keras-tuner's style: declare each hyperparameter where it is used."""
    model = keras.Sequential([keras.Input(shape=(FEATURES,))])
    activation = hp.Choice("activation", ["relu", "tanh"])
    for _ in range(hp.Int("layers", 1, 3)):
        # A step makes the values a list (32, 64, ..., 256): nas searches them as a Choice.
        model.add(keras.layers.Dense(hp.Int("units", 32, 256, step=32), activation=activation))
    model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)))
    model.add(keras.layers.Dense(CLASSES, activation="softmax"))

    learning_rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    if hp.Choice("optimizer", ["adam", "sgd"]) == "sgd":
        # momentum exists only for SGD: nas makes it a parameter conditional on optimizer == "sgd", so the
        # controller decides it only when it chose SGD, and an Adam architecture has no momentum value.
        with hp.conditional_scope("optimizer", ["sgd"]):
            optimizer = keras.optimizers.SGD(learning_rate, momentum=hp.Float("momentum", 0.0, 0.95))
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    # Compiled here, as keras-tuner expects: nas keeps this optimizer, loss and metrics (it still lowers the
    # learning rate along its cosine schedule; lr_schedule="constant" keeps it fixed). The objective, accuracy,
    # needs the "accuracy" metric.
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # keras-tuner passes a batch size to fit() itself; to nas, a value named batch_size is the trial's batch size.
    hp.Choice("batch_size", [16, 32, 64])
    return model


def main():
    digits = load_digits()
    features = digits.data / 16.0  # pixel counts 0..16 scaled to [0, 1]; the model expects inputs scaled so
    x_train, x_test, y_train, y_test = train_test_split(features, digits.target, test_size=0.2,
                                                        stratify=digits.target, random_state=0)

    # nas calls build with keras-tuner's defaults, then with random values, until no call declares anything new.
    print("discovered parameters:")
    for parameter in from_hypermodel(build).parameters:
        print("  ", parameter)

    result = nas.search(
        build,  # the function itself: nas discovers its space the same way
        strategy="rl",
        data=(x_train, y_train),
        test_data=(x_test, y_test),
        trials=3 if QUICK else 30,
        epochs=1 if QUICK else 10,
        final_epochs=1 if QUICK else 30,
        output=OUTPUT,
        name=f"digits-keras-tuner-{time.strftime('%Y%m%d-%H%M%S')}",
    )

    board = result.leaderboard()
    print(board[["trial", "status", "validation_accuracy", "params", "arch"]].head(5).to_string(index=False))
    best = result.best
    print(f"winner: trial {best['trial']}: {best['values']}")
    print(f"validation accuracy {best['validation_accuracy']:.4f}, test accuracy {best['test_accuracy']:.4f}, "
          f"{best['params']:,} parameters")
    print(f"model: {best['model_path']}")


if __name__ == "__main__":
    main()
